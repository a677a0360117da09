"""The house stays tidy: ruff finds nothing to complain about, and the code is formatted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [["check", "nba", "tests", "benchmarks"], ["format", "--check", "."]],
    ids=["lint", "format"],
)
def test_ruff_is_clean(command: list[str]) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "ruff", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr
