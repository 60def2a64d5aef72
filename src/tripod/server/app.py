"""The `tripod serve` assembly: open the stores into a :class:`ServerContext`, then one ASGI
app with every part's routes on one port, auth, and the background loops.

Route providers each contribute ``routes(ctx)``; the scrape manager, the retention loop, the rule
evaluation thread and the notifiers run in the app's lifespan. With a token configured, every
endpoint except ``/-/healthy`` needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from tripod.server import dashboards, ingest, query, selfmetrics, ui
from tripod.server._http import plain_error, prometheus_error
from tripod.server.config import ServerConfig
from tripod.server.deps import ServerContext
from tripod.server.notify import ConfigError as NotifyConfigError
from tripod.server.notify import NotifierConfig, build_notification, load_config
from tripod.server.promql import Engine
from tripod.server.promql import api as promql_api
from tripod.server.rules import (
    RuleManager,
    engine_query_func,
    expand_rule_globs,
    rules_body,
)
from tripod.server.rules._gojson import go_json
from tripod.server.rules.metrics import rule_metrics
from tripod.server.rules.readcache import ReadCache
from tripod.server.store import (
    Database,
    DuckLogStore,
    DuckSampleStore,
    DuckSpanStore,
    MemoryExemplarStore,
    retention_loop,
)

__all__ = ["Alerting", "AlertingSetupError", "build_app", "open_context"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_OPEN_PATHS = frozenset({"/-/healthy"})
_log = logging.getLogger("tripod.server")


class BearerAuth:
    """Refuses requests without the configured bearer token (401, Prometheus-style body)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in _OPEN_PATHS or ui.is_open_path(path):
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


class AlertingSetupError(Exception):
    """A rule file or routing file ``tripod serve`` cannot start with; the message is one line
    naming ``file:line`` (rules) or the file and field (routing)."""


def _one_line(problems: list[str]) -> str:
    return "; ".join(p.replace("\n", " ") for p in problems)


class Alerting:
    """Rules and notifications of a running server: the :class:`RuleManager` over the store,
    evaluated by a thread (PromQL never runs on the event loop), the notifiers, and reload.

    Raises :class:`AlertingSetupError` when the configured rule files or routing file are bad.
    """

    def __init__(self, ctx: ServerContext, *, clock: Callable[[], float] = time.time) -> None:
        config = ctx.config
        self.config = config
        self.clock = clock
        try:
            self.notification = build_notification(
                alertmanager_urls=config.alerting.alertmanager_urls,
                alertmanager_config=config.alerting.alertmanager_config,
                data_dir=config.data_dir,
                registry=ctx.registry,
                external_labels=config.global_config.external_labels,
                external_url=config.public_url,
                keep_alerts=True,  # the web UI's silences work with no Alertmanager configured
            )
        except NotifyConfigError as exc:
            raise AlertingSetupError(_one_line([str(exc)])) from None
        # the rules read through a per-group cache: each metric fetched once per group round
        self.read_cache = ReadCache(ctx.samples)
        engine = Engine(
            self.read_cache,
            timeout_s=config.limits.query_timeout_s,
            max_samples=config.limits.query_max_samples,
        )
        interval_ms = round(config.global_config.evaluation_interval_s * 1000)
        timing = config.rule_timing
        self.manager = RuleManager(
            self.read_cache,
            engine_query_func(engine, interval_ms),
            default_interval_ms=interval_ms,
            external_labels=config.global_config.external_labels,
            external_url=config.public_url,
            sink=self.notification.sink,
            clock=clock,
            resend_delay_ms=round(timing.resend_delay_s * 1000),
            outage_tolerance_ms=round(timing.for_outage_tolerance_s * 1000),
            for_grace_period_ms=round(timing.for_grace_period_s * 1000),
            before_group=self.read_cache.clear,
        )
        problems = self.manager.load(expand_rule_globs(config.rule_files))
        if problems:
            raise AlertingSetupError(_one_line([str(p) for p in problems]))
        self.metrics = rule_metrics(ctx.registry, self.manager)
        # /api/v1/rules and /api/v1/alerts answer from the state after the last round, so a
        # long round never holds a request up (Prometheus also shows the last evaluation)
        self._rules_body: dict[str, Any] = {}
        self._alerts_body: dict[str, Any] = {}
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._report()

    # --- the evaluation thread -------------------------------------------------------------

    def start(self) -> None:
        self.notification.start()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="tripod-rules", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread: a running round ends after its current rule."""
        self._stop.set()
        self.manager.close()
        if self._thread is not None:
            self._thread.join(max(self.config.limits.query_timeout_s, 5.0) + 5.0)
            self._thread = None
        self.notification.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.evaluate_due(int(self.clock() * 1000))
            due = self.manager.next_due_ms()
            wait_s = 1.0 if due is None else (due - self.clock() * 1000) / 1000
            self._stop.wait(min(max(wait_s, 0.0), 1.0))

    def evaluate_due(self, now_ms: int) -> None:
        """One pass of the loop: the groups due at ``now_ms`` evaluate; never raises."""
        ran = 0
        try:
            ran = self.manager.evaluate_due(now_ms)
        except Exception:  # a bug in one round must not end evaluation for good
            _log.exception("rule evaluation round failed")
        if ran or not self._rules_body:
            self._report()

    def _report(self) -> None:
        """The API snapshot from the groups' state (each group read between evaluations)."""
        self._rules_body = self.manager.rules_body()
        self._alerts_body = self.manager.alerts_body()

    # --- reload and the HTTP API -----------------------------------------------------------

    def reload(self) -> list[str]:
        """Re-read the rule files (globs expanded again) and the built-in notifier's routing
        file. On any problem nothing changes and the problems are returned."""
        with self._reload_lock:
            routing: NotifierConfig | None = None
            path = self.config.alerting.alertmanager_config
            if path is not None and self.notification.builtin is not None:
                try:
                    routing = load_config(path)
                except NotifyConfigError as exc:
                    return [str(exc).replace("\n", " ")]
            problems = self.manager.load(expand_rule_globs(self.config.rule_files))
            if problems:
                return [str(p) for p in problems]
            if routing is not None and self.notification.builtin is not None:
                self.notification.builtin.apply_config(routing)
            self._report()
            return []

    def rules_json(self, rule_type: str) -> dict[str, Any]:
        """``/api/v1/rules`` as of the last round; ValueError for an unknown ``type``."""
        rules_body([], rule_type)  # Prometheus's error for an unknown type
        body = self._rules_body
        kind = {"alert": "alerting", "record": "recording"}.get(rule_type.lower())
        if kind is None:
            return body
        groups = [{**g, "rules": [r for r in g["rules"] if r["type"] == kind]}
                  for g in body["data"]["groups"]]  # fmt: skip
        return {**body, "data": {"groups": groups}}

    def alerts_json(self) -> dict[str, Any]:
        """``/api/v1/alerts`` as of the last round."""
        return self._alerts_body


def _go_json(body: dict[str, Any]) -> Response:
    """The rules API's JSON written byte for byte as Prometheus writes it (Go floats, escapes)."""
    return Response(go_json(body), media_type="application/json")


def alerting_routes(alerting: Alerting) -> list[BaseRoute]:
    """``/api/v1/rules``, ``/api/v1/alerts``, ``POST /-/reload`` and the notifier's routes."""

    async def rules(request: Request) -> Response:
        try:
            body = await run_in_threadpool(
                alerting.rules_json, request.query_params.get("type", "")
            )
        except ValueError as exc:
            return prometheus_error(400, "bad_data", str(exc))
        return _go_json(body)

    async def alerts(request: Request) -> Response:
        return _go_json(await run_in_threadpool(alerting.alerts_json))

    async def reload(request: Request) -> Response:
        problems = await run_in_threadpool(alerting.reload)
        if problems:  # Prometheus answers 500; a bad file is bad input here: 400
            return plain_error(400, "failed to reload config: " + _one_line(problems))
        return PlainTextResponse("")

    return [
        Route("/api/v1/rules", rules, methods=["GET"]),
        Route("/api/v1/alerts", alerts, methods=["GET"]),
        Route("/-/reload", reload, methods=["POST", "PUT"]),
        *alerting.notification.routes,
    ]


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
        samples=DuckSampleStore(
            db,
            config.limits,
            config.storage.retention_time_s,
            auto_compact=config.storage.compress_samples,
        ),
        spans=DuckSpanStore(db, config.limits),
        logs=DuckLogStore(db, config.limits),
        registry=CollectorRegistry(),
        exemplars=MemoryExemplarStore(config.storage.max_exemplars),
    )
    selfmetrics.instruments(ctx.registry)
    selfmetrics.set_store_size(ctx, db.size_bytes)
    return ctx


def _all_routes(ctx: ServerContext, alerting: Alerting) -> list[BaseRoute]:
    return [
        *_own_routes(ctx),
        *ingest.routes(ctx),
        *query.routes(ctx),
        *promql_api.routes(ctx),
        *alerting_routes(alerting),
        *dashboards.routes(ctx),
        *ui.routes(),  # last: the web UI's pages and assets (src/tripod/server/ui)
    ]


def build_app(ctx: ServerContext, alerting: Alerting | None = None) -> ASGIApp:
    """The ASGI app serving ``ctx``; the scrape and retention loops, rule evaluation and the
    notifiers run while it is up. Without ``alerting`` one is built from ``ctx.config``
    (raises :class:`AlertingSetupError` for a bad rule file or routing file)."""
    alerting = alerting if alerting is not None else Alerting(ctx)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        scrape = ingest.ScrapeManager(ctx)
        await scrape.start()
        retention = asyncio.create_task(retention_loop(ctx.db, ctx.samples, ctx.config.storage))
        alerting.start()
        try:
            yield
        finally:
            await run_in_threadpool(alerting.stop)  # the rule thread ends before the store closes
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention
            await scrape.stop()
            # uvicorn re-raises SIGTERM once shutdown is done, so the CLI's own close may not
            # run: close the store here, after the last request and the last scrape.
            await run_in_threadpool(ctx.db.close)

    app: ASGIApp = Starlette(routes=_all_routes(ctx, alerting), lifespan=lifespan)
    if ctx.config.token:
        app = BearerAuth(app, ctx.config.token)
    return app
