"""What the package declares matches what it needs: dependencies, package data, portability.

The wheel itself is built and installed in ``tests/test_wheel.py`` (slow); these
checks read the source tree and ``pyproject.toml`` and run in a second.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _dist(requirement: str) -> str:
    """The normalised distribution name of a requirement (PEP 503)."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement.strip())
    assert name, f"pyproject.toml: cannot read the requirement {requirement!r}"
    return re.sub(r"[-_.]+", "-", name.group()).lower()


RUNTIME = {_dist(r) for r in PYPROJECT["project"]["dependencies"]}
DEV = {_dist(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]}
#: Imported by nba only inside a helper meant for the user's own test suite, which has it.
TEST_TIME = {"pytest": "nba.policies.checks.parametrize_with_checks"}


def _imported(folder: str) -> dict[str, set[str]]:
    """Top-level names of the third-party modules ``folder``'s files import, and where.

    Every import counts, not only those at the top of a module: nba imports most of
    its dependencies inside the functions that use them, and they are needed all the same.
    """
    base = ROOT / folder
    local = {p.stem for p in base.rglob("*.py")} | {p.name for p in base.rglob("*") if p.is_dir()}
    found: dict[str, set[str]] = {}
    for path in sorted(base.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top == "nba" or top in sys.stdlib_module_names or top in local:
                    continue
                found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _undeclared(folder: str, declared: set[str]) -> list[str]:
    distributions = packages_distributions()
    problems = []
    for module, files in sorted(_imported(folder).items()):
        dists = {_dist(d) for d in distributions.get(module, [])}
        where = ", ".join(sorted(files)[:3])
        if module in TEST_TIME:
            continue
        if not dists:
            problems.append(f"`{module}` (imported by {where}): no installed distribution has it")
        elif not dists & declared:
            problems.append(
                f"`{module}` (imported by {where}) comes from {', '.join(sorted(dists))}, "
                "which pyproject.toml does not declare"
            )
    return problems


def test_every_package_nba_imports_is_a_declared_dependency():
    assert _undeclared("nba", RUNTIME) == []


@pytest.mark.parametrize("folder", ["tests", "benchmarks"])
def test_tests_and_benchmarks_import_only_declared_packages(folder):
    assert _undeclared(folder, RUNTIME | DEV) == []


def test_every_dependency_has_a_lower_bound():
    requirements = PYPROJECT["project"]["dependencies"] + [
        r for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra
    ]
    assert [r for r in requirements if ">=" not in r] == []


def test_every_example_file_is_package_data():
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["nba.examples"]
    examples = ROOT / "nba" / "examples"
    files = [
        p.relative_to(examples)
        for p in examples.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc")
    ]
    assert files, "no example files found"
    assert [str(f) for f in files if not any(f.match(pat) for pat in patterns)] == []


def test_the_checkout_keeps_its_experiments_paths():
    # README commands name experiments/...: the directory is a link to the packaged one.
    assert (ROOT / "experiments").resolve() == (ROOT / "nba" / "examples").resolve()


def test_thread_count_without_linux_affinity(monkeypatch):
    # macOS and Windows have no os.sched_getaffinity: nothing may call it at import.
    from nba.policies import _threads

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    _threads.n_threads.cache_clear()
    try:
        assert 1 <= _threads.n_threads() <= 2
    finally:
        _threads.n_threads.cache_clear()
