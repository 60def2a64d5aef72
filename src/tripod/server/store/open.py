"""Open the stores under a data directory and hand back the :class:`ServerContext`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from tripod.server import selfmetrics
from tripod.server.config import ServerConfig
from tripod.server.deps import ServerContext
from tripod.server.store.db import Database
from tripod.server.store.logs import DuckLogStore
from tripod.server.store.samples import DuckSampleStore
from tripod.server.store.spans import DuckSpanStore

__all__ = ["open_context"]


def open_context(config: ServerConfig) -> ServerContext:
    """Open (or create) the database in ``config.data_dir``; raises StoreError if it cannot."""
    db = Database(config.data_dir, f"{config.storage.memory_limit_bytes}B")
    ctx = ServerContext(
        config=config,
        db=db,
        samples=DuckSampleStore(db, config.limits, config.storage.retention_time_s),
        spans=DuckSpanStore(db, config.limits),
        logs=DuckLogStore(db, config.limits),
        registry=CollectorRegistry(),
    )
    selfmetrics.instruments(ctx.registry)
    selfmetrics.set_store_size(ctx, db.size_bytes)
    return ctx
