"""Raw ASGI middleware: one server span, RED metrics, access log, correlation, ``/metrics``.

No BaseHTTPMiddleware (it costs a task and a stream per request). The route template comes from
the matched route Starlette/FastAPI leave in ``scope["route"]`` after routing; a request that
matched nothing is labelled ``__unmatched__``, never with its raw path. Non-HTTP scopes
(websocket, lifespan) pass straight through; the app's exceptions propagate unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

from tripod.config import Settings
from tripod.sdk import health, metrics
from tripod.sdk.integrations._http import Recorder

__all__ = ["TripodASGIMiddleware", "instrument_asgi", "route_of"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
AppT = TypeVar("AppT")

_HEALTH_PATHS = frozenset((health.HEALTH_PATH, health.READY_PATH))
_CARRIER_HEADERS = frozenset((b"traceparent", b"tracestate", b"baggage"))


def route_of(scope: Scope) -> str | None:
    """The matched route template of a routed request (Starlette/FastAPI), else None."""
    route = scope.get("route")
    if route is None:
        return None
    if isinstance(route, str):
        return route
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


class TripodASGIMiddleware:
    """Wraps an ASGI app; see the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.recorder = Recorder(settings)
        self._metrics_path = settings.metrics_path
        self._corr_key = settings.correlation_header.lower().encode("latin-1")
        self._corr_header = settings.correlation_header.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == self._metrics_path:
            await metrics.asgi_app(scope, receive, send)
            return
        if path in _HEALTH_PATHS and health.enabled():
            await health.asgi_app(scope, receive, send)
            return
        rec = self.recorder
        corr_key = self._corr_key
        carrier: dict[str, str] | None = None
        corr = request_id = None
        request_size: int | None = None
        attrs: dict[str, Any] = {}
        for key, value in scope["headers"]:
            if key in _CARRIER_HEADERS:
                if carrier is None:
                    carrier = {}
                carrier[key.decode("latin-1")] = value.decode("latin-1")
            elif key == corr_key:
                corr = value.decode("latin-1")
            elif key == b"x-request-id":
                request_id = value.decode("latin-1")
            elif key == b"user-agent":
                attrs["user_agent.original"] = value.decode("latin-1")
            elif key == b"host":
                host, _, port = value.decode("latin-1").rpartition(":")
                if host and port.isdigit():
                    attrs["server.address"] = host
                    attrs["server.port"] = int(port)
                else:
                    attrs["server.address"] = value.decode("latin-1")
            elif key == b"content-length":
                try:
                    request_size = int(value)
                except ValueError:
                    request_size = None
        client = scope.get("client")
        if client:
            attrs["client.address"] = client[0]
        version = scope.get("http_version")
        if version:
            attrs["network.protocol.version"] = version
        state = rec.start(
            scope["method"],
            path=path,
            scheme=scope.get("scheme", "http"),
            carrier=carrier,
            correlation_id=corr or request_id,
            attrs=attrs,
        )
        status = 500
        response_size = 0
        corr_value = state.correlation_id.encode("latin-1")
        corr_header = self._corr_header

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_size
            kind = message["type"]
            if kind == "http.response.body":
                response_size += len(message.get("body", b""))
            elif kind == "http.response.start":
                status = message["status"]
                # A new message and header list: apps may reuse theirs (a module-level
                # Response sends the same raw_headers list every time).
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (corr_header, corr_value)],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as exc:
            rec.detach(state)
            rec.finish(
                state,
                route=route_of(scope),
                status=500,
                request_size=request_size,
                response_size=response_size,
                exc=exc,
            )
            raise
        rec.detach(state)
        rec.finish(
            state,
            route=route_of(scope),
            status=status,
            request_size=request_size,
            response_size=response_size,
        )


def instrument_asgi(app: AppT, settings: Settings) -> AppT:
    """Instrument ``app`` in place when it is a Starlette/FastAPI app, else wrap it."""
    _quiet_fastapi_telemetry(app)
    build = getattr(app, "build_middleware_stack", None)
    if callable(build):
        # Starlette: become the outermost layer of the stack it builds, so 500 responses made
        # by its ServerErrorMiddleware still pass through us, and the app object stays the same.
        def build_with_tripod() -> ASGIApp:
            return TripodASGIMiddleware(build(), settings)

        app.build_middleware_stack = build_with_tripod  # type: ignore[attr-defined]
        app.middleware_stack = None  # type: ignore[attr-defined]
        app._tripod_instrumented = True  # type: ignore[attr-defined]
        return app
    wrapped = TripodASGIMiddleware(app, settings)  # type: ignore[arg-type]
    wrapped._tripod_instrumented = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


def _quiet_fastapi_telemetry(app: object) -> None:
    """Switch off FastAPI's native OpenTelemetry (recent FastAPI makes its own server span and
    three operation spans per request through the global provider, which tripod installs):
    tripod's middleware is the one server span, and it is far cheaper."""
    config = getattr(app, "_telemetry", None)
    if isinstance(config, dict):
        for key in ("tracing", "metrics", "logs", "operation_spans"):
            if key in config:
                config[key] = False
