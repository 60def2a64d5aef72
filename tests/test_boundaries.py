"""shared/DESIGN.md boundaries, checked on the source: the SDK pulls in no backend."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tripod"
FORBIDDEN_FROM_SDK = ("tripod.server", "tripod.codegen", "tripod.lint")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_sdk_imports_no_backend() -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in sorted((SRC / "sdk").rglob("*.py"))
        for name in _imports(path)
        if name.startswith(FORBIDDEN_FROM_SDK)
    ]
    assert offenders == []


def test_public_modules_import_no_backend() -> None:
    for module in ("__init__.py", "config.py", "catalog.py"):
        bad = [n for n in _imports(SRC / module) if n.startswith(FORBIDDEN_FROM_SDK)]
        assert bad == [], module
