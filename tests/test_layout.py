"""The house's layout: no import circles, a domain that knows nothing of HTTP or
SQL, and rooms of a size a newcomer can read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "nba"
#: Packages allowed to speak HTTP or SQL; everything else is the domain.
OUTER = ("nba.api", "nba.store", "nba.service", "nba.cli")
WEB_OR_SQL = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "psycopg")
MAX_MODULE_LINES = 600
MAX_CLASS_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    return {
        _module_name(p): (p, ast.parse(p.read_text(), str(p))) for p in sorted(PKG.rglob("*.py"))
    }


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The nba modules ``name`` imports (anywhere but under ``if TYPE_CHECKING``)."""
    out: set[str] = set()
    is_pkg = name in known and any(k.startswith(name + ".") for k in known)

    def visit(node: ast.AST) -> None:
        if _type_checking(node):
            return
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found = set()
    for mod in out:
        # importing a.b.c runs a, a.b and a.b.c
        parts = mod.split(".")
        for i in range(1, len(parts) + 1):
            if ".".join(parts[:i]) in known:
                found.add(".".join(parts[:i]))
    found.discard(name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_no_import_circles() -> None:
    mods = _modules()
    known = set(mods)
    # a package's __init__ importing its own modules is how re-exports work, not a circle
    graph = {
        m: {d for d in _imports(m, tree, known) if not d.startswith(m + ".")}
        for m, (_, tree) in mods.items()
    }
    assert _cycles(graph) == []


def test_the_domain_imports_no_web_or_sql() -> None:
    bad = []
    for name, (path, tree) in _modules().items():
        if name.startswith(OUTER):
            continue
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            bad += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith(WEB_OR_SQL)]
    assert bad == []


def test_the_application_layer_speaks_neither_http_nor_sql() -> None:
    """nba/service passes connections to nba/store; it builds no statement itself."""
    bad = []
    for name, (path, tree) in _modules().items():
        if not name.startswith("nba.service"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(WEB_OR_SQL):
                names = {a.name for a in node.names}
                if not node.module.startswith("sqlalchemy") or names - {"Connection"}:
                    bad.append(f"{path.relative_to(ROOT)}: from {node.module} import {names}")
            elif isinstance(node, ast.Import):
                bad += [
                    f"{path.relative_to(ROOT)}: import {a.name}"
                    for a in node.names
                    if a.name.startswith(WEB_OR_SQL)
                ]
    assert bad == []


@pytest.mark.parametrize("kind", ["module", "class"])
def test_rooms_a_newcomer_can_read(kind: str) -> None:
    big = []
    for name, (path, tree) in _modules().items():
        if kind == "module":
            n = len(path.read_text().splitlines())
            if n > MAX_MODULE_LINES and "Why one long module" not in (
                ast.get_docstring(tree) or ""
            ):
                big.append(f"{name}: {n} lines")
        else:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    n = node.end_lineno - node.lineno + 1
                    if n > MAX_CLASS_LINES and "Why one long class" not in (
                        ast.get_docstring(node) or ""
                    ):
                        big.append(f"{name}.{node.name}: {n} lines")
    assert big == [], f"over {MAX_MODULE_LINES} lines per module / {MAX_CLASS_LINES} per class"
