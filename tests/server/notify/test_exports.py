"""The notify face's ``__all__`` is exactly its public names, in ruff's order."""

from __future__ import annotations

import tripod.server.notify as notify
from tests.test_exported_members import _ruff_order, public_names


def test_notify_face() -> None:
    exported = list(notify.__all__)
    assert exported == sorted(exported, key=_ruff_order)
    assert set(exported) == public_names(notify)
