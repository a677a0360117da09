"""The wheel, installed in a fresh virtual environment, works outside the checkout.

Builds the wheel (``pip wheel --no-deps``) from a copy of the source, installs it
with its dependencies from the package index into a new virtual environment
(no system site-packages), and from a directory outside the checkout runs what
a new user runs first: ``nba demo`` (resized small), ``nba decide --profile``
with a packaged profile's name, and ``nba serve`` answering a decision. What
each printed is checked, not only its exit status.

Slow (about 80 s with a warm pip cache, most of it installing the dependencies) and needs the
package index, as CI has.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

ROOT = Path(__file__).resolve().parents[1]
ADMIN_KEY = "wheel-test-admin-key-0123456789"

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(args)} exited {res.returncode}:\n{res.stderr[-3000:]}"
    return res.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict]]:
    """(the environment's bin directory, a working directory outside the checkout, env)."""
    tmp = tmp_path_factory.mktemp("wheel")
    # A copy of the source: the build's own files (build/, *.egg-info) stay out of the checkout.
    src = tmp / "src"
    shutil.copytree(ROOT / "nba", src / "nba", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    # Nothing of the checkout's environment leaks in: no nba settings, no PYTHONPATH.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NBA_")
        and k not in ("PYTHONPATH", "MLFLOW_TRACKING_URI", "VIRTUAL_ENV", "PYTHONHOME")
    }
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(src), "-w", str(dist)],
         tmp, env, 600)  # fmt: skip
    (wheel,) = dist.glob("nba-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp, env, 300)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], tmp, env, 1200)
    work = tmp / "work"
    work.mkdir()
    yield bin_dir, work, env


def test_nba_is_the_installed_one(installed: tuple[Path, Path, dict]) -> None:
    bin_dir, work, env = installed
    out = _run([str(bin_dir / "python"), "-c", "import nba; print(nba.__file__)"], work, env, 60)
    assert Path(out.strip()).is_relative_to(bin_dir.parent)


def test_demo_resized(installed: tuple[Path, Path, dict]) -> None:
    bin_dir, work, env = installed
    args = ["demo", "--customers", "300", "--days", "5", "--seeds", "2", "--workers", "1"]
    doc = json.loads(_run([str(bin_dir / "nba"), *args, "--json"], work, env, 600))
    assert Path(doc["config"]).is_relative_to(bin_dir.parent)  # the packaged demo.yaml
    assert Path(doc["config"]).name == "demo.yaml"
    assert (doc["customers"], doc["days"], doc["seeds"]) == (300, 5, [0, 1])
    names = [p["name"] for p in doc["policies"]]
    assert names[0] == "rules" and "oracle" in names and len(names) >= 4
    assert all(p["guardrail_violations"] == 0 for p in doc["policies"])
    assert doc["mlflow"]["tracking_uri"].endswith(f"{work}/mlflow.db")  # in the working dir
    tour = doc["service_tour"]
    assert tour["decision"]["customer_id"] == "demo-customer-1"
    assert tour["event"]["accepted"] == 1 and tour["learn"]["closed"] == 1


def test_decide_a_packaged_profile(installed: tuple[Path, Path, dict]) -> None:
    bin_dir, work, env = installed
    args = ["decide", "--profile", "browsing_prospect", "--now", "2026-03-03T19:00:00Z"]
    doc = json.loads(_run([str(bin_dir / "nba"), *args, "--json"], work, env, 300))
    assert doc["customer_id"] == "c-1001"
    assert doc["policy"] == {"name": "rules", "version": "0"}
    assert {s["rule"] for s in doc["suppressed"]} >= {"gap_12h"}
    text = _run([str(bin_dir / "nba"), *args], work, env, 300)
    assert "customer c-1001" in text and "removed by the guardrails" in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_decides(installed: tuple[Path, Path, dict]) -> None:
    bin_dir, work, env = installed
    port = _free_port()
    proc = subprocess.Popen(
        [str(bin_dir / "nba"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=work,
        env=env | {"NBA_ADMIN_KEY": ADMIN_KEY, "NBA_DATABASE_URL": f"sqlite:///{work}/serve.db"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        health = None
        while health is None:
            assert proc.poll() is None, "nba serve exited before answering /healthz"
            assert time.monotonic() < deadline, "nba serve did not answer /healthz in 120 s"
            try:
                health = httpx2.get(f"{url}/healthz", timeout=2).json()
            except httpx2.HTTPError:
                time.sleep(0.2)  # polling until the server listens, under the deadline
        assert health["policy"]["name"] == "rules" and health["degraded"] is False
        r = httpx2.post(
            f"{url}/v1/decisions",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            json={"customer_id": "wheel-1", "now": "2026-03-02T10:00:00Z", "trigger": "signup"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        decision = r.json()
        assert decision["customer_id"] == "wheel-1"
        assert decision["policy"]["name"] == "rules" and decision["propensity"] == 1.0
        assert decision["action"] is None or set(decision["action"]) == {"message_id", "channel"}
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "/v1/decisions" in out  # the access log of the request, on the server's output
