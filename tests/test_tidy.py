"""The house stays tidy: ruff finds nothing to complain about."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_lint_clean() -> None:
    res = subprocess.run([sys.executable, "-m", "ruff", "check", "nba", "tests", "benchmarks"],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
