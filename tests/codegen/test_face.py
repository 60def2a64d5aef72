"""tripod.codegen's face: a sorted ``__all__`` that is exactly its public names."""

from __future__ import annotations

import tripod.codegen
from tests.test_exported_members import _ruff_order, public_names


def test_all_is_exactly_the_public_names() -> None:
    exported = list(tripod.codegen.__all__)
    assert exported == sorted(exported, key=_ruff_order)
    assert set(exported) == public_names(tripod.codegen)
