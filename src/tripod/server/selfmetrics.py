"""The server's own metrics, in ``ctx.registry`` (served on ``/metrics``).

Every ingest path calls :func:`record_ingested` / :func:`record_rejected`; query endpoints wrap
their work in :func:`time_query`. The instruments are made once per registry.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from tripod.server.deps import ServerContext

__all__ = [
    "SelfMetrics",
    "instruments",
    "record_ingested",
    "record_rejected",
    "set_store_size",
    "time_query",
]

_QUERY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class SelfMetrics:
    ingested: Counter
    rejected: Counter
    store_size: Gauge
    query_duration: Histogram


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, SelfMetrics] = (
    weakref.WeakKeyDictionary()
)


def instruments(registry: CollectorRegistry) -> SelfMetrics:
    """The server's instruments in ``registry``, made on first use."""
    found = _BY_REGISTRY.get(registry)
    if found is None:
        found = SelfMetrics(
            ingested=Counter(
                "tripod_server_ingested",
                "Items stored, by signal (samples, spans, logs) and source.",
                ["signal", "source"],
                registry=registry,
            ),
            rejected=Counter(
                "tripod_server_rejected",
                "Items refused at ingest, by signal and reason.",
                ["signal", "reason"],
                registry=registry,
            ),
            store_size=Gauge(
                "tripod_server_store_size_bytes",
                "Bytes the store uses on disk (database file and write-ahead log).",
                registry=registry,
            ),
            query_duration=Histogram(
                "tripod_server_query_duration_seconds",
                "Time to answer a query, by API.",
                ["api"],
                buckets=_QUERY_BUCKETS,
                registry=registry,
            ),
        )
        _BY_REGISTRY[registry] = found
    return found


def record_ingested(ctx: ServerContext, signal: str, source: str, n: int) -> None:
    """Count ``n`` stored items of ``signal`` ("samples", "spans", "logs") from ``source``."""
    if n > 0:
        instruments(ctx.registry).ingested.labels(signal, source).inc(n)


def record_rejected(ctx: ServerContext, signal: str, reason: str, n: int) -> None:
    """Count ``n`` refused items of ``signal`` with a short snake_case ``reason``."""
    if n > 0:
        instruments(ctx.registry).rejected.labels(signal, reason).inc(n)


def set_store_size(ctx: ServerContext, size: Callable[[], float]) -> None:
    """Make the store-size gauge read ``size()`` at each scrape of /metrics."""
    instruments(ctx.registry).store_size.set_function(size)


@contextlib.contextmanager
def time_query(ctx: ServerContext, api: str) -> Iterator[None]:
    """Observe the duration of the enclosed query under ``api`` (e.g. "traces", "query_range")."""
    start = time.perf_counter()
    try:
        yield
    finally:
        instruments(ctx.registry).query_duration.labels(api).observe(time.perf_counter() - start)
