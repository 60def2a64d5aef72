"""Self-metrics for Prometheus ingest: sample counts through the server's shared helpers in
``selfmetrics``, plus the scrape manager's own (targets per job, scrapes by outcome), which
also let tests and operators see what the scraper is doing."""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge

from tripod.server import selfmetrics
from tripod.server.deps import ServerContext

__all__ = ["ScrapeMetrics", "record", "scrape_metrics"]


def record(ctx: ServerContext, source: str, accepted: int, rejected: Mapping[str, int]) -> None:
    """Count accepted samples by ``source`` and rejected ones by reason."""
    if accepted:
        selfmetrics.record_ingested(ctx, "samples", source, accepted)
    for reason, count in rejected.items():
        if count:
            selfmetrics.record_rejected(ctx, "samples", reason, count)


@dataclasses.dataclass(frozen=True)
class ScrapeMetrics:
    targets: Gauge
    scrapes: Counter


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, ScrapeMetrics] = (
    weakref.WeakKeyDictionary()
)


def scrape_metrics(ctx: ServerContext) -> ScrapeMetrics:
    """The scraper's instruments in ``ctx.registry``, made on first use."""
    found = _BY_REGISTRY.get(ctx.registry)
    if found is None:
        found = ScrapeMetrics(
            targets=Gauge(
                "tripod_server_scrape_targets",
                "Targets being scraped, by job (after relabelling).",
                ["job"],
                registry=ctx.registry,
            ),
            scrapes=Counter(
                "tripod_server_scrapes",
                "Scrapes done, by job and outcome (success, failure).",
                ["job", "outcome"],
                registry=ctx.registry,
            ),
        )
        _BY_REGISTRY[ctx.registry] = found
    return found
