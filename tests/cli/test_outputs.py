"""Output files and directories of the CLI: written atomically, one error line when they cannot be.

``write_atomically`` itself, then the commands that write what the user
names: ``nba simulate --out`` (a log file) and ``nba train --out`` (a saved
policy directory). ``nba export`` is covered in ``test_cli_service.py``.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from nba.cli import app, write_atomically
from nba.evaluation import read_logs, synthetic_logs, write_logs
from nba.exceptions import InputError
from nba.settings import EXAMPLE_DIR

SCENARIO = str(EXAMPLE_DIR / "scenario.yaml")


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# -- write_atomically --------------------------------------------------------------------
def test_writes_a_file_with_the_usual_mode_and_leaves_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "report.txt"
    assert write_atomically(out, lambda tmp: tmp.write_text("done")) == out
    assert out.read_text() == "done"
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert _listing(tmp_path) == ["sub", "sub/report.txt"]


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        (lambda root: root / "a_dir", "Is a directory"),
        (lambda root: root / "a_file" / "x.parquet", "Not a directory"),
        (lambda root: root / "a_file" / "deeper" / "x.parquet", "Not a directory"),
    ],
)
def test_what_is_in_the_way_is_refused_before_writing(
    tmp_path: Path, where: Callable[[Path], Path], reason: str
) -> None:
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "a_file").write_text("x")
    before = _listing(tmp_path)
    out = where(tmp_path)
    calls: list[Path] = []
    with pytest.raises(InputError, match=f"^cannot write {out}: {reason}$"):
        write_atomically(out, calls.append)
    assert not calls and _listing(tmp_path) == before


@pytest.mark.parametrize(
    ("error", "raised", "match"),
    [
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), InputError, "No space left on device"),
        (ValueError("bad data"), ValueError, "bad data"),
    ],
)
def test_a_failed_write_leaves_the_earlier_file_and_no_partial_one(
    tmp_path: Path, error: Exception, raised: type[Exception], match: str
) -> None:
    out = tmp_path / "logs.csv"
    out.write_text("earlier\n")

    def half_write(tmp: Path) -> None:
        tmp.write_text("partial")
        tmp.with_name(tmp.name + ".meta.json").write_text("{")
        raise error

    with pytest.raises(raised, match=match):
        write_atomically(out, half_write, companions=(".meta.json",))
    assert out.read_text() == "earlier\n"
    assert _listing(tmp_path) == ["logs.csv"]


def test_companion_files_follow_the_file(tmp_path: Path) -> None:
    out = tmp_path / "logs.csv"
    logs = synthetic_logs(20, seed=0)
    write_atomically(out, lambda tmp: write_logs(tmp, logs, fmt="csv"), companions=(".meta.json",))
    assert _listing(tmp_path) == ["logs.csv", "logs.csv.meta.json"]
    assert len(read_logs(out)) == 20


def _fill(files: dict[str, str]) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        for name, text in files.items():
            (tmp / name).write_text(text)

    return write


def test_writes_a_directory_with_the_usual_mode(tmp_path: Path) -> None:
    out = tmp_path / "policy"
    write_atomically(out, _fill({"policy.json": "{}"}), directory=True)
    assert out.stat().st_mode & 0o777 == 0o777 & ~_umask()
    assert _listing(tmp_path) == ["policy", "policy/policy.json"]
    (tmp_path / "empty").mkdir()  # an empty directory is simply taken
    write_atomically(tmp_path / "empty", _fill({"a": "1"}), directory=True)
    assert (tmp_path / "empty" / "a").read_text() == "1"


def test_a_directory_replaces_only_what_it_may(tmp_path: Path) -> None:
    out = tmp_path / "policy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=f"^cannot write {out}: Directory not empty$"):
        write_atomically(out, _fill({"policy.json": "{}"}), directory=True)
    with pytest.raises(InputError, match="Directory not empty"):
        write_atomically(out, _fill({}), directory=True, replace_dir=lambda d: False)
    assert _listing(tmp_path) == ["policy", "policy/notes.txt"]
    write_atomically(
        out, _fill({"policy.json": "{}"}), directory=True, replace_dir=lambda d: d == out
    )
    assert _listing(tmp_path) == ["policy", "policy/policy.json"]


def test_a_failed_directory_write_leaves_the_earlier_one(tmp_path: Path) -> None:
    out = tmp_path / "policy"
    out.mkdir()
    (out / "policy.json").write_text("earlier")

    def half_write(tmp: Path) -> None:
        (tmp / "model.vw").write_text("partial")
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    with pytest.raises(InputError, match=f"^cannot write {out}: Permission denied$"):
        write_atomically(out, half_write, directory=True, replace_dir=lambda d: True)
    assert _listing(tmp_path) == ["policy", "policy/policy.json"]
    assert (out / "policy.json").read_text() == "earlier"


def test_a_directory_is_not_written_over_a_file(tmp_path: Path) -> None:
    out = tmp_path / "policy"
    out.write_text("a file")
    with pytest.raises(InputError, match=f"^cannot write {out}: Not a directory$"):
        write_atomically(out, _fill({"policy.json": "{}"}), directory=True)
    assert _listing(tmp_path) == ["policy"] and out.read_text() == "a file"


# -- nba simulate --out --------------------------------------------------------------------
def _simulate(out: Path, *extra: str) -> Result:
    args = ["simulate", "--scenario", SCENARIO, "--policy", "random", "--customers", "30"]
    return CliRunner().invoke(app, [*args, "--days", "2", "--out", str(out), *extra])


def test_simulate_out_that_cannot_be_written_is_one_error_line(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    target.mkdir()
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    before = _listing(tmp_path)
    for out, reason in ((target, "Is a directory"), (a_file / "x.parquet", "Not a directory")):
        res = _simulate(out)
        assert res.exit_code == 2, res.output
        assert res.stderr.strip() == f"error: cannot write {out}: {reason}"
        assert "Traceback" not in res.output
    assert _listing(tmp_path) == before


def test_simulate_out_with_an_unknown_suffix_is_refused_before_simulating(tmp_path: Path) -> None:
    out = tmp_path / "logs.xlsx"
    res = _simulate(out)
    assert res.exit_code == 2
    assert res.stderr.strip().startswith(
        f"error: `--out` {out}: cannot tell the log format from the suffix `.xlsx`"
    )
    assert _listing(tmp_path) == []


def test_simulate_writes_csv_logs_with_their_metadata_and_no_temporary_file(
    tmp_path: Path,
) -> None:
    out = tmp_path / "logs.csv"
    out.write_text("earlier\n")
    res = _simulate(out, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["out"] == str(out) and len(read_logs(out)) == doc["decisions"]
    assert _listing(tmp_path) == ["logs.csv", "logs.csv.meta.json"]


# -- nba train --out --------------------------------------------------------------------------
@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return write_logs(tmp_path / "logs.parquet", synthetic_logs(300, seed=1))


def _train(logs: Path, out: Path) -> Result:
    args = ["train", "--logs", str(logs), "--policy", "linucb", "--out", str(out), "--json"]
    return CliRunner().invoke(app, args)


def test_train_out_that_cannot_be_written_is_one_error_line(logs: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("not a policy")
    before = _listing(tmp_path)
    for out, reason in (
        (a_file, "Not a directory"),
        (a_file / "policy", "Not a directory"),
        (other, "Directory not empty"),
    ):
        res = _train(logs, out)
        assert res.exit_code == 2, res.output
        assert res.stderr.strip() == f"error: cannot write {out}: {reason}"
        assert "Traceback" not in res.output
    assert _listing(tmp_path) == before


def test_train_replaces_an_earlier_saved_policy(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "policy"
    for _ in range(2):
        res = _train(logs, out)
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["out"] == str(out)
    assert (out / "policy.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".policy.")]


def test_a_failed_save_leaves_no_partial_policy(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nba.policies.linear import LinUCB

    def half_save(self: LinUCB, path: str | Path) -> Path:
        Path(path, "policy.json").write_text("{")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(LinUCB, "save", half_save)
    before = _listing(tmp_path)
    out = tmp_path / "policy"
    res = _train(logs, out)
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == f"error: cannot write {out}: No space left on device"
    assert _listing(tmp_path) == before
