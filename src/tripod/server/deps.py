"""The dependency bag every part of the server is handed: settings, stores, self-metrics.

Route providers (``routes(ctx) -> list[BaseRoute]`` in ingest/, query/, promql/) and background
loops (scrape, retention, rules) get a :class:`ServerContext`; they reach the stores only through
the contract in :mod:`tripod.server.store.model`, never through another part's module.
"""

from __future__ import annotations

import dataclasses

from prometheus_client import CollectorRegistry

from tripod.server.config import ServerConfig
from tripod.server.store.db import Database
from tripod.server.store.exemplars import MemoryExemplarStore
from tripod.server.store.model import ExemplarStore, LogStore, SampleStore, SpanStore

__all__ = ["ServerContext"]


@dataclasses.dataclass
class ServerContext:
    """What a running server holds: built once by :func:`tripod.server.app.open_context`."""

    config: ServerConfig
    db: Database  # the one database under the stores: retention, size, close
    samples: SampleStore
    spans: SpanStore
    logs: LogStore
    registry: CollectorRegistry  # the server's own /metrics
    # In memory and bounded (Prometheus's circular exemplar storage); empty after a restart.
    exemplars: ExemplarStore = dataclasses.field(default_factory=MemoryExemplarStore)
