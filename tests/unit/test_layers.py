"""The package layering of docs/architecture.md, checked on the source: who may import whom.

Bottom to top: the base modules (config, errors, log, …) → ``clients/`` (one client per service) →
``sample/`` → ``stack/`` (starts the services) and ``lake/`` (landing, bronze, silver) → ``gold/`` and
``validate/`` → ``load/`` (the load: plan and steps) → the entry points (cli, DAGs, bench, demo). An import
may only point down. Imports under ``if TYPE_CHECKING:`` are annotations, not runtime dependencies, and
are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PKG = SRC / "ga4lake"

BASE = {"config", "errors", "log", "versions", "sqlident", "args", "pgroles", "project"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path) -> set[str]:
    """Every ga4lake module named by an import in ``path``, in-function ones included, TYPE_CHECKING ones not."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {name for name in found if name == "ga4lake" or name.startswith("ga4lake.")}


def _unit(module: str) -> str:
    """The layering unit of a module: its top-level package or top-level module under ga4lake."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    units = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    units |= {p.stem for p in PKG.glob("*.py") if p.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        src = _unit(_module_name(path))
        if not src:
            continue
        for target in _runtime_imports(path):
            dst = _unit(target)
            if dst and dst in units and dst != src:
                graph.setdefault(src, set()).add(dst)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            comp = []
            while True:
                member = stack.pop()
                comp.append(member)
                if member == node:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_no_import_cycle_between_packages():
    assert _cycles(_graph()) == []


def test_clients_import_only_the_base_modules():
    assert _graph().get("clients", set()) <= BASE


def test_lake_imports_no_layer_above_it_and_not_the_stack():
    assert _graph().get("lake", set()) & {"gold", "validate", "load", "stack", "cli", "bench"} == set()


def test_stack_does_not_import_the_lake_or_the_domain():
    assert _graph().get("stack", set()) & {"lake", "gold", "validate", "load", "cli", "bench"} == set()


def test_the_checker_sees_a_cycle_and_skips_type_checking_imports(tmp_path):
    """The checks above can fail: a two-package cycle is found, an annotation-only import is not an edge."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    mod = tmp_path / "src" / "ga4lake" / "x.py"
    mod.parent.mkdir(parents=True)
    mod.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ga4lake.lake import audit\n"
        "def f():\n    from ga4lake.gold import step\n"
    )
    global SRC
    saved, SRC = SRC, tmp_path / "src"
    try:
        assert _runtime_imports(mod) == {"ga4lake.gold", "ga4lake.gold.step"}
    finally:
        SRC = saved
