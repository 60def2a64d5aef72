"""The `tripod serve` assembly: open the stores into a :class:`ServerContext`, then one ASGI
app with every part's routes on one port, auth, and the background loops.

Route providers each contribute ``routes(ctx)``; the scrape manager and the retention loop run in
the app's lifespan. With a token configured, every endpoint except ``/-/healthy`` needs
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from tripod.server import ingest, query, selfmetrics
from tripod.server._http import prometheus_error
from tripod.server.config import ServerConfig
from tripod.server.deps import ServerContext
from tripod.server.promql import api as promql_api
from tripod.server.store import (
    Database,
    DuckLogStore,
    DuckSampleStore,
    DuckSpanStore,
    retention_loop,
)

__all__ = ["build_app", "open_context"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_OPEN_PATHS = frozenset({"/-/healthy"})


class BearerAuth:
    """Refuses requests without the configured bearer token (401, Prometheus-style body)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        msg = (
            "missing or wrong bearer token; send 'Authorization: Bearer <token>' with the token "
            "tripod serve was started with"
        )
        reply = prometheus_error(401, "unauthorized", msg, {"WWW-Authenticate": "Bearer"})
        await reply(scope, receive, send)


def _own_routes(ctx: ServerContext) -> list[BaseRoute]:
    async def healthy(request: Request) -> Response:
        return PlainTextResponse("tripod serve is Healthy.\n")

    async def ready(request: Request) -> Response:
        return PlainTextResponse("tripod serve is Ready.\n")

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, ctx.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/-/healthy", healthy, methods=["GET", "HEAD"]),
        Route("/-/ready", ready, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def open_context(config: ServerConfig) -> ServerContext:
    """Open (or create) the database in ``config.data_dir`` and the stores over it; raises
    StoreError if it cannot."""
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


def _all_routes(ctx: ServerContext) -> list[BaseRoute]:
    return [
        *_own_routes(ctx),
        *ingest.routes(ctx),
        *query.routes(ctx),
        *promql_api.routes(ctx),
    ]


def build_app(ctx: ServerContext) -> ASGIApp:
    """The ASGI app serving ``ctx``; the scrape and retention loops run while it is up."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        scrape = ingest.ScrapeManager(ctx)
        await scrape.start()
        retention = asyncio.create_task(retention_loop(ctx.db, ctx.samples, ctx.config.storage))
        try:
            yield
        finally:
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention
            await scrape.stop()
            # uvicorn re-raises SIGTERM once shutdown is done, so the CLI's own close may not
            # run: close the store here, after the last request and the last scrape.
            await run_in_threadpool(ctx.db.close)

    app: ASGIApp = Starlette(routes=_all_routes(ctx), lifespan=lifespan)
    if ctx.config.token:
        app = BearerAuth(app, ctx.config.token)
    return app
