from __future__ import annotations

import pytest

from tests.server.promql.memstore import MemStore
from tripod.server.promql.engine import Engine


@pytest.fixture
def store() -> MemStore:
    return MemStore()


@pytest.fixture
def engine(store: MemStore) -> Engine:
    return Engine(store)
