"""Every part of the house has a face (``__init__.py`` with ``__all__``): ``__all__`` is sorted
as ruff sorts it (RUF022), has no duplicates, every name resolves, and it is exactly the public
names the face defines or imports from tripod (equality, not a subset)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
#: ``tripod.server`` has no face on purpose: importing it would load the whole backend.
NO_FACE = {"tripod.server"}
#: Every package of the house: each one is a part with a face, found on disk so that a new part
#: cannot be added without one.
FACES = sorted(
    ".".join(init.parent.relative_to(SRC).parts)
    for init in (SRC / "tripod").rglob("__init__.py")
    if ".".join(init.parent.relative_to(SRC).parts) not in NO_FACE
)


def _ruff_order(name: str) -> tuple[int, str]:
    """RUF022's "isort-style": CONSTANTS, then Classes, then everything else; each A-Z."""
    if name.isupper():
        return 0, name
    return (1 if name[:1].isupper() else 2), name


def defined_public_names(source: Path) -> set[str]:
    """Names a face binds at top level for its readers: what it imports from tripod and what it
    defines, minus private names (``from __future__``, third-party and submodule names are not
    part of the face)."""
    names: set[str] = set()
    body = ast.parse(source.read_text()).body
    for node in list(body):  # a lazy face (PEP 562) names its exports under TYPE_CHECKING
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            body += node.body
    for node in body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tripod"):
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    dunders = {name for name in names if name.startswith("__") and name.endswith("__")}
    return {name for name in names if not name.startswith("_")} | (
        dunders - {"__all__", "__getattr__", "__dir__"}
    )


@pytest.mark.parametrize("face", FACES)
def test_all_is_sorted_complete_and_resolves(face: str) -> None:
    module = importlib.import_module(face)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_ruff_order)
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert getattr(module, name) is not None, name
    submodules = {
        name for name in defined_public_names(Path(str(module.__file__)))
        if isinstance(getattr(module, name), type(module))
    }  # fmt: skip
    assert set(exported) == defined_public_names(Path(str(module.__file__))) - submodules


def test_the_store_face_offers_the_whole_contract() -> None:
    from tripod.server import store
    from tripod.server.store import model

    assert set(model.__all__) <= set(store.__all__)
