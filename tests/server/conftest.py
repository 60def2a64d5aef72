"""Shared fixtures for the server tests: a store on a fresh data directory, and real servers
(one fed by a run of the real SDK, one with tight limits) that several test modules read."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.procs import Proc, start_tripod_serve
from tripod.server.config import Limits
from tripod.server.store import Database, DuckSampleStore


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "data")
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> DuckSampleStore:
    return DuckSampleStore(db, Limits(max_series_per_metric=50))


APP = Path(__file__).with_name("otel_app.py")


@pytest.fixture(scope="module")
def sdk_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Proc, dict[str, str], Path]]:
    """A server that received one run of the real SDK app (traces, logs, metrics); one per test
    module, as a module may stop it to read the store file."""
    data = tmp_path_factory.mktemp("otlp") / "data"
    with start_tripod_serve(data) as proc:
        done = subprocess.run([sys.executable, str(APP), proc.url], capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        ids = json.loads(done.stdout.strip().splitlines()[-1])
        yield proc, ids, data


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    tmp = tmp_path_factory.mktemp("otlp-bad")
    config = tmp / "tripod.yaml"
    config.write_text("limits:\n  max_body_bytes: 2000000\n  max_attributes: 8\n"
                      "  max_series_per_metric: 1000\n")  # fmt: skip
    with start_tripod_serve(tmp / "data", "--config", str(config)) as proc:
        yield proc
