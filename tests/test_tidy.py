"""The house stays tidy: ruff finds nothing to complain about, the code is formatted,
and mypy finds the package's types consistent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "nba", "tests", "benchmarks"],
        ["ruff", "format", "--check", "."],
        ["mypy", "nba"],
    ],
    ids=["lint", "format", "types"],
)
def test_the_tools_find_nothing(command: list[str]) -> None:
    res = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr
