"""Shared by every SDK test: a clean tripod before and after each one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tripod
from tripod.sdk import metrics


@pytest.fixture(autouse=True)
def _fresh_tripod() -> Iterator[None]:
    """Nothing leaks from one test into the next: no set-up, no metric, no setting."""
    tripod.shutdown()
    metrics.reset()
    yield
    tripod.shutdown()
    metrics.reset()
