"""Shared fixtures for the server tests: a store on a fresh data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tripod.server.config import Limits
from tripod.server.store.db import Database
from tripod.server.store.samples import DuckSampleStore


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "data")
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> DuckSampleStore:
    return DuckSampleStore(db, Limits(max_series_per_metric=50))
