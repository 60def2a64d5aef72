"""The server's import direction, checked on the source (every import counts: module level,
function-local and under ``TYPE_CHECKING``): no circle between files; the settings and the store
sit below everything that uses them; no storage or ingest module imports a CLI module."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
SERVER = SRC / "tripod" / "server"


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in SERVER.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """The server modules ``name`` imports (``from pkg import submodule`` names the submodule)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    found.add(f"{base}.{alias.name}")
                elif base in MODULES:
                    found.add(base)
    found.discard(name)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _circles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(GRAPH):
        if root in index:
            continue
        work = [(root, iter(sorted(GRAPH[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(GRAPH[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _under(prefix: str) -> list[str]:
    return [m for m in MODULES if m == prefix or m.startswith(prefix + ".")]


def test_the_graph_sees_the_imports() -> None:
    assert "tripod.server.deps" in GRAPH["tripod.server.app"]
    assert "tripod.server.store.model" in GRAPH["tripod.server.deps"]
    assert "tripod.server.config._units" in GRAPH["tripod.server.config._scrape"]


def test_no_import_circle_between_server_files() -> None:
    assert _circles() == []


def test_settings_and_store_sit_below_their_users() -> None:
    above = ("deps", "app", "cli", "_http", "selfmetrics", "ingest", "query", "promql", "rules",
             "notify")  # fmt: skip
    upward = [
        f"{low} imports {high}"
        for part in ("tripod.server.config", "tripod.server.store")
        for low in _under(part)
        for high in GRAPH[low]
        if any(
            high == f"tripod.server.{a}" or high.startswith(f"tripod.server.{a}.") for a in above
        )
    ]
    assert upward == []


def test_no_storage_or_ingest_module_imports_a_cli_module() -> None:
    clis = {m for m in MODULES if m.rpartition(".")[2] == "cli"}
    bad = [
        f"{m} imports {c}"
        for part in ("tripod.server.store", "tripod.server.ingest", "tripod.server.config")
        for m in _under(part)
        for c in GRAPH[m] & clis
    ]
    assert bad == []
