"""``TripodMiddleware``: Django requests with the same telemetry as the WSGI/ASGI middleware.

One server span named ``METHOD route``, the RED metrics, the access log line, the correlation
id (read, bound, echoed) and W3C trace context, all through the shared
:class:`~tripod.sdk.integrations._http.Recorder`. The route is the URL pattern Django resolved
(``request.resolver_match.route``, which joins ``include()`` prefixes) with a leading ``/``:
``path("orders/<int:order_id>/", ...)`` is labelled ``/orders/<int:order_id>/``; a regex
pattern loses its ``^``/``$`` anchors; a request no pattern matched is ``__unmatched__``.
Works in sync (WSGI) and async (ASGI) stacks; the middleware answers ``metrics_path`` and,
once a health check is registered, ``/healthz`` and ``/readyz`` itself.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponseBase

from tripod.config import Settings
from tripod.sdk import health, metrics
from tripod.sdk._active import current_settings
from tripod.sdk.integrations._http import Recorder, RequestState
from tripod.sdk.integrations.django._db import instrument_db
from tripod.sdk.integrations.django._views import wsgi_response

__all__ = ["TripodMiddleware", "route_of"]

_ERROR_KEY = "tripod.error"
_HEALTH_PATHS = frozenset((health.HEALTH_PATH, health.READY_PATH))
_CARRIER = (
    ("HTTP_TRACEPARENT", "traceparent"),
    ("HTTP_TRACESTATE", "tracestate"),
    ("HTTP_BAGGAGE", "baggage"),
)


def route_of(request: HttpRequest) -> str | None:
    """The URL pattern ``request`` resolved to, as ``http.route`` (see the module doc)."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    if not isinstance(route, str):
        return None
    if route.startswith("^"):
        route = route[1:]
    if route.endswith("$") and not route.endswith("\\$"):
        route = route[:-1]
    return "/" + route


class TripodMiddleware:
    """Put first in ``MIDDLEWARE`` so the span and the duration cover the whole chain.

    Without ``tripod.init()`` (in ``settings.py``, ``wsgi.py``, or by the
    ``tripod.sdk.integrations.django`` app) Django drops it from the chain, as
    ``tripod.instrument()`` leaves an app untouched.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        settings = current_settings()
        if settings is None or settings.sdk_disabled:
            raise MiddlewareNotUsed("tripod is not initialised")
        self.get_response = get_response
        self.recorder = Recorder(settings)
        self._settings: Settings = settings
        self._corr_env = "HTTP_" + settings.correlation_header.upper().replace("-", "_")
        self._corr_header = settings.correlation_header
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)
        instrument_db()

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self._acall(request)
        path = request.path_info or "/"
        if path == self._settings.metrics_path:
            return wsgi_response(metrics.wsgi_app, request)
        if path in _HEALTH_PATHS and health.enabled():
            return wsgi_response(health.wsgi_app, request)
        state = self._start(request)
        try:
            response = self.get_response(request)
        except BaseException as exc:
            self._fail(request, state, exc)
            raise
        return self._respond(request, state, response)

    async def _acall(self, request: HttpRequest) -> Any:
        path = request.path_info or "/"
        if path == self._settings.metrics_path:
            return wsgi_response(metrics.wsgi_app, request)
        if path in _HEALTH_PATHS and health.enabled():
            return wsgi_response(health.wsgi_app, request)
        state = self._start(request)
        try:
            response = await self.get_response(request)
        except BaseException as exc:
            self._fail(request, state, exc)
            raise
        return self._respond(request, state, response)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Django turns a view's exception into a response; keep it for the span."""
        request.META[_ERROR_KEY] = exception

    def _start(self, request: HttpRequest) -> RequestState:
        meta = request.META
        carrier: dict[str, str] | None = None
        for key, header in _CARRIER:
            value = meta.get(key)
            if value:
                if carrier is None:
                    carrier = {}
                carrier[header] = value
        attrs: dict[str, Any] = {}
        host = meta.get("HTTP_HOST") or meta.get("SERVER_NAME")
        if host:
            name, _, port = str(host).rpartition(":")
            if name and port.isdigit():
                attrs["server.address"] = name
                attrs["server.port"] = int(port)
            else:
                attrs["server.address"] = host
        for key, attr in (("REMOTE_ADDR", "client.address"), ("HTTP_USER_AGENT",
                                                              "user_agent.original")):  # fmt: skip
            value = meta.get(key)
            if value:
                attrs[attr] = value
        protocol = str(meta.get("SERVER_PROTOCOL", ""))
        if protocol.startswith("HTTP/"):
            attrs["network.protocol.version"] = protocol[5:]
        return self.recorder.start(
            str(meta.get("REQUEST_METHOD") or "GET"),
            path=request.path,
            scheme=str(meta.get("wsgi.url_scheme") or request.scheme or "http"),
            carrier=carrier,
            correlation_id=meta.get(self._corr_env) or meta.get("HTTP_X_REQUEST_ID"),
            attrs=attrs,
        )

    def _fail(self, request: HttpRequest, state: RequestState, exc: BaseException) -> None:
        rec = self.recorder
        rec.detach(state)
        rec.finish(
            state,
            route=_safe_route(request),
            status=500,
            request_size=_request_size(request),
            response_size=None,
            exc=exc,
        )

    def _respond(
        self, request: HttpRequest, state: RequestState, response: HttpResponseBase
    ) -> HttpResponseBase:
        rec = self.recorder
        streaming = getattr(response, "streaming", False)
        # A streamed body is produced after we return: iterate it in the request's context
        # (span, correlation id), so its queries and log lines belong to the request.
        ctx = contextvars.copy_context() if streaming else None
        rec.detach(state)
        try:
            response[self._corr_header] = state.correlation_id
        except Exception:
            rec.finish(state, route=None, status=500, request_size=None, response_size=None)
            return response
        status = int(getattr(response, "status_code", 500))
        error = request.META.get(_ERROR_KEY) if status >= 500 else None
        exc = error if isinstance(error, BaseException) else None
        route = _safe_route(request)
        request_size = _request_size(request)
        if streaming:
            # The body is sent after we return: finish when the server closes the response.
            if ctx is not None and not getattr(response, "is_async", False):
                response.streaming_content = _iterate_in(ctx, response.streaming_content)
            close = response.close

            def close_and_finish() -> None:
                try:
                    close()
                finally:
                    rec.finish(
                        state,
                        route=route,
                        status=status,
                        request_size=request_size,
                        response_size=_content_length(response),
                        exc=exc,
                    )

            response.close = close_and_finish
            return response
        content = getattr(response, "content", b"")
        rec.finish(
            state,
            route=route,
            status=status,
            request_size=request_size,
            response_size=len(content),
            exc=exc,
        )
        return response


def _iterate_in(ctx: contextvars.Context, chunks: Iterable[bytes]) -> Iterator[bytes]:
    it = iter(chunks)
    while True:
        chunk = ctx.run(next, it, None)
        if chunk is None:
            return
        yield chunk


def _safe_route(request: HttpRequest) -> str | None:
    try:
        return route_of(request)
    except Exception:
        return None


def _request_size(request: HttpRequest) -> int | None:
    length = request.META.get("CONTENT_LENGTH")
    return int(length) if isinstance(length, str) and length.isdigit() else None


def _content_length(response: HttpResponseBase) -> int | None:
    value = response.get("Content-Length")
    return int(value) if isinstance(value, str) and value.isdigit() else None
