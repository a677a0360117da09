"""`nba keys create`, `nba export` and `nba serve`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import numpy as np
import pytest
from typer.testing import CliRunner

import nba.cli.service  # noqa: F401  (registers the commands)
from nba.cli import app
from nba.service import DecisionService
from nba.settings import Settings, get_settings
from nba.store import Store, keys


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'nba.db'}"
    monkeypatch.setenv("NBA_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_keys_create_json(db_env: str) -> None:
    res = CliRunner().invoke(app, ["keys", "create", "--role", "marketer", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["role"] == "marketer" and doc["key"].startswith("nba_")
    store = Store(db_env)
    with store.read() as conn:
        assert keys.role_of_key(conn, doc["key"]) == (doc["key_id"], "marketer")


def test_keys_create_rejects_unknown_role(db_env: str) -> None:
    res = CliRunner().invoke(app, ["keys", "create", "--role", "root"])
    assert res.exit_code == 2
    assert "`--role`: expected one of app, marketer, admin, got 'root'" in res.output


def test_export_parquet_and_dsjson(db_env: str, tmp_path: Path) -> None:
    svc = DecisionService(Settings(database_url=db_env), champion_lookup=False, random_state=1)
    _, batch = svc.decide([f"c{i}" for i in range(25)], datetime(2026, 3, 2, 10, tzinfo=UTC))
    svc.learn(datetime(2026, 3, 20, tzinfo=UTC))
    svc.stop()
    out = tmp_path / "log.parquet"
    res = CliRunner().invoke(app, ["export", "--format", "parquet", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["decisions"] == 25
    from nba.evaluation.logs import read_logs

    logs = read_logs(out)
    assert len(logs) == 25
    order = np.argsort(batch.decision_ids)
    back = np.argsort(logs.decision_ids.astype(str))
    assert np.array_equal(logs.batch.action[back], batch.action[order])
    assert np.allclose(logs.batch.propensity[back], batch.propensity[order])
    # the raw signals travel with the log: the rule baseline is evaluated on it
    assert logs.has_signals
    from nba.policies.rules import RulePolicy
    from nba.settings import EXAMPLE_DIR

    rules = RulePolicy(rules=str(EXAMPLE_DIR / "rules.yaml"))
    again = rules.predict_proba(logs.batch.context, logs.batch.allowed).argmax(axis=1)
    assert np.array_equal(again[back], batch.action[order])  # the service served the rules
    res = CliRunner().invoke(app, ["evaluate", "--logs", str(out), "--policy", "rules", "--json"])
    assert res.exit_code == 0, res.output
    ds = tmp_path / "log.dsjson"
    res = CliRunner().invoke(app, ["export", "--format", "dsjson", "--out", str(ds)])
    assert res.exit_code == 0, res.output
    lines = ds.read_text().splitlines()
    assert len(lines) == 25 and "_label_cost" in json.loads(lines[0])
    res = CliRunner().invoke(app, ["export", "--format", "xml", "--out", str(ds)])
    assert res.exit_code == 2 and "`--format`" in res.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_on_embedded_defaults(tmp_path: Path) -> None:
    port = _free_port()
    # embedded defaults: no NBA_* settings, no MLflow tracking URI (no local store: rules)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NBA_") and k != "MLFLOW_TRACKING_URI"
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", "from nba.cli import main; main()", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and health is None:
            try:
                health = httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()
            except httpx2.HTTPError:
                assert proc.poll() is None
                time.sleep(0.2)
        assert health is not None
        assert health["policy"]["name"] == "rules" and health["database"] == "sqlite"
        assert (tmp_path / "nba.db").exists()  # the SQLite file in the working directory
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert lines, out  # the service logs JSON lines
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert any(d["logger"] == "uvicorn.access" and "/healthz" in d["message"] for d in lines)


def test_serve_refuses_production_without_admin_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_")}
    env["NBA_ENV"] = "production"
    res = subprocess.run(
        [sys.executable, "-c", "from nba.cli import main; main()", "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "requires `NBA_ADMIN_KEY`" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.fixture
def fake_uvicorn(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Record what `nba serve` would pass to uvicorn instead of serving."""
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    return calls


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--log-level", "loud"],
            "'loud' is not one of 'critical', 'error', 'warning', 'info', 'debug', 'trace'",
        ),
        (
            ["--port", "99999"],
            "Invalid value for '--port': Input should be less than or equal to 65535",
        ),
        (
            ["--port", "-1"],
            "Invalid value for '--port': Input should be greater than or equal to 0",
        ),
    ],
)
def test_serve_refuses_bad_options_as_usage_errors(
    db_env: str, fake_uvicorn: list[dict[str, object]], args: list[str], message: str
) -> None:
    res = CliRunner().invoke(app, ["serve", *args])
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.replace("│", " ").split())  # unwrap rich's box
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert not fake_uvicorn


def test_serve_takes_any_case_of_a_level_and_the_edge_ports(
    db_env: str, fake_uvicorn: list[dict[str, object]]
) -> None:
    for args in (["--log-level", "WARNING", "--port", "65535"], ["--port", "0"]):
        res = CliRunner().invoke(app, ["serve", *args])
        assert res.exit_code == 0, res.output
    assert [(c["log_level"], c["port"]) for c in fake_uvicorn] == [("warning", 65535), ("info", 0)]


def test_serve_on_a_file_that_is_not_a_database_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_uvicorn: list[dict[str, object]]
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database\n" * 20)
    monkeypatch.setenv("NBA_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == (
        f"error: database `sqlite:///{path}`: cannot create tables (file is not a database)"
    )
    assert not fake_uvicorn


@pytest.fixture
def decided(db_env: str) -> str:
    svc = DecisionService(Settings(database_url=db_env), champion_lookup=False, random_state=1)
    svc.decide([f"c{i}" for i in range(5)], datetime(2026, 3, 2, 10, tzinfo=UTC))
    svc.learn(datetime(2026, 3, 20, tzinfo=UTC))
    svc.stop()
    return db_env


@pytest.mark.parametrize("fmt", ["parquet", "dsjson"])
def test_export_to_a_directory_or_under_a_file_is_one_error_line(
    decided: str, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    before = sorted(tmp_path.iterdir())
    for out, reason in ((target, "Is a directory"), (a_file / "log.out", "Not a directory")):
        res = CliRunner().invoke(app, ["export", "--format", fmt, "--out", str(out)])
        assert res.exit_code == 2, res.output
        assert res.stderr.strip() == f"error: cannot write {out}: {reason}"
    assert sorted(tmp_path.iterdir()) == before and not any(target.iterdir())


def test_a_failed_export_leaves_the_earlier_file_and_no_partial_one(
    decided: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import nba.evaluation.dsjson

    def half_write(path: Path, logs: object) -> Path:
        Path(path).write_text('{"partial": ')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    out = tmp_path / "log.dsjson"
    out.write_text("earlier export\n")
    monkeypatch.setattr(nba.evaluation.dsjson, "write_dsjson", half_write)
    res = CliRunner().invoke(app, ["export", "--format", "dsjson", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == f"error: cannot write {out}: No space left on device"
    assert out.read_text() == "earlier export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.dsjson", "nba.db"]


def test_an_export_replaces_the_file_with_the_usual_mode(decided: str, tmp_path: Path) -> None:
    out = tmp_path / "log.parquet"
    out.write_text("earlier export\n")
    res = CliRunner().invoke(app, ["export", "--format", "parquet", "--out", str(out)])
    assert res.exit_code == 0, res.output
    from nba.evaluation.logs import read_logs

    assert len(read_logs(out)) == 5
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.parquet", "nba.db"]


def test_export_without_the_services_database_is_one_error_line(
    db_env: str, tmp_path: Path
) -> None:
    out = tmp_path / "log.parquet"
    db = Path(db_env.removeprefix("sqlite:///"))
    res = CliRunner().invoke(app, ["export", "--format", "parquet", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == (
        f"error: `NBA_DATABASE_URL`: no database at {db} (expected the service's database)"
    )
    assert not db.exists() and not out.exists()  # nothing created where the user mistyped
    Store(db_env).dispose()  # a database, but no service ever ran on it
    res = CliRunner().invoke(app, ["export", "--format", "parquet", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: no catalog is stored in this database")
    assert not out.exists()
