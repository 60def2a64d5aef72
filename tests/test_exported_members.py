"""Every face's ``__all__`` is exactly its public names, sorted as ruff sorts it (RUF022), and
every name resolves (httpx ``tests/test_exported_members.py`` does the same)."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

FACES = ["tripod", "tripod.sdk", "tripod.sdk.metrics", "tripod.sdk.integrations", "tripod.testing"]


def _ruff_order(name: str) -> tuple[int, str]:
    """RUF022's "isort-style": CONSTANTS, then Classes, then everything else; each A-Z."""
    if name.isupper():
        return 0, name
    return (1 if name[:1].isupper() else 2), name


def public_names(module: ModuleType) -> set[str]:
    """What a reader of the module sees as public: tripod's own objects under a name without a
    leading underscore (submodules, and what a module imports from elsewhere, are not)."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and getattr(value, "__module__", "").startswith("tripod")
    }


@pytest.mark.parametrize("face", FACES)
def test_all_is_exactly_the_public_names(face: str) -> None:
    module = importlib.import_module(face)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_ruff_order)
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert hasattr(module, name), name
    assert set(exported) - {"__version__"} == public_names(module)


def test_tripod_face_offers_the_documented_calls() -> None:
    import tripod

    documented = {
        "init",
        "shutdown",
        "instrument",
        "get_logger",
        "traced",
        "span",
        "counter",
        "gauge",
        "histogram",
        "timed",
        "set_log_level",
        "bind",
        "inject_headers",
    }
    assert documented <= set(tripod.__all__)
