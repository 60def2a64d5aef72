"""Open the stores under a data directory and hand back the :class:`ServerContext`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from tripod.server import selfmetrics
from tripod.server.context import ServerConfig, ServerContext
from tripod.server.store.db import Database
from tripod.server.store.samples import DuckSampleStore

__all__ = ["open_context"]


def open_context(config: ServerConfig) -> ServerContext:
    """Open (or create) the database in ``config.data_dir``; raises StoreError if it cannot."""
    from tripod.server.store.logs import LogStore
    from tripod.server.store.spans import SpanStore

    storage = config.raw.get("storage") or {}
    memory = storage.get("memory_limit", "1GB") if isinstance(storage, dict) else "1GB"
    db = Database(config.data_dir, str(memory))
    ctx = ServerContext(
        config=config,
        samples=DuckSampleStore(db, config.limits, config.retention_time_s),
        spans=SpanStore(db, config.limits),
        logs=LogStore(db, config.limits),
        registry=CollectorRegistry(),
    )
    selfmetrics.instruments(ctx.registry)
    selfmetrics.set_store_size(ctx, db.size_bytes)
    return ctx
