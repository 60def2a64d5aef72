"""The house's import direction, checked on the source (every import counts: module level,
function-local and under ``TYPE_CHECKING``): no circle between files; the settings and the store
sit below everything that uses them; no storage or ingest module imports a CLI module."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
SERVER = SRC / "tripod" / "server"


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in (SRC / "tripod").rglob("*.py")}


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
    # Importing ``a.b.c`` first runs ``a.b``'s ``__init__``: count the packages on the way, but
    # not the importer's own ancestors (they are loaded before the importer runs).
    own = {name.rsplit(".", i)[0] for i in range(name.count(".") + 1)}
    for target in list(found):
        parts = target.split(".")
        for depth in range(1, len(parts)):
            package = ".".join(parts[:depth])
            if package in MODULES and package not in own:
                found.add(package)
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


#: The floors of docs/architecture.md: every import between parts goes to a lower floor. The
#: package root ``tripod`` is imported by the server only for ``__version__`` (Python loads it
#: first anyway, as the parent package), so it is left out of the ranking.
FLOORS = {
    "tripod.config": 1,
    "tripod.catalog": 2,
    "tripod.server.config": 2,
    "tripod.server._http": 3,
    "tripod.server.ui": 3,
    "tripod.server.store": 3,
    "tripod.sdk": 3,
    "tripod.codegen": 3,
    "tripod.check": 3,
    "tripod.testing": 4,
    "tripod.server.deps": 4,
    "tripod.server.selfmetrics": 5,
    "tripod.server.notify": 5,
    "tripod.server.ingest": 6,
    "tripod.server.query": 6,
    "tripod.server.promql": 6,
    "tripod.server.dashboards": 6,
    "tripod.server.rules": 7,
    "tripod.server.app": 8,
    "tripod.server.cli": 9,
    "tripod.lint": 3,
}
UNRANKED = {"tripod", "tripod.cli", "tripod.__main__", "tripod._pytest_plugin", "tripod.server"}


def _part(module: str) -> str:
    for part in sorted(FLOORS, key=len, reverse=True):
        if module == part or module.startswith(part + "."):
            return part
    return module


def test_every_module_has_a_floor() -> None:
    assert sorted(m for m in MODULES if _part(m) not in FLOORS and m not in UNRANKED) == []


def test_imports_between_parts_point_down() -> None:
    upward = [
        f"{low} imports {high}"
        for low in MODULES
        for high in GRAPH[low]
        if _part(low) in FLOORS
        and _part(high) in FLOORS
        and _part(low) != _part(high)
        and FLOORS[_part(high)] >= FLOORS[_part(low)]
    ]
    assert upward == []


def test_the_sdk_face_and_testing_never_import_the_backend() -> None:
    backend = ("tripod.server", "tripod.codegen", "tripod.lint", "tripod.check")
    bad = [
        f"{m} imports {i}"
        for m in MODULES
        if _part(m) in {"tripod.sdk", "tripod.testing", "tripod.config", "tripod.catalog"}
        or m == "tripod"
        for i in GRAPH[m]
        if i.startswith(backend)
    ]
    assert bad == []
