"""Every ingest endpoint, bound to one server context."""

from __future__ import annotations

from starlette.routing import BaseRoute

from tripod.server.deps import ServerContext
from tripod.server.ingest import import_endpoint, otlp, remote_write, scrape

__all__ = ["routes"]


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """``POST /v1/{traces,metrics,logs}``, ``/api/v1/write``, ``/api/v1/import/prometheus`` and
    ``GET /api/v1/targets``, bound to ``ctx``."""
    return [
        *import_endpoint.routes(ctx),
        *otlp.routes(ctx),
        *remote_write.routes(ctx),
        *scrape.routes(ctx),
    ]
