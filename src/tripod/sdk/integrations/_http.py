"""What ASGI and WSGI share per request: one server span, RED metrics, the access log line.

Built for the hot path: the tracer, the metrics object and the access logger are looked up once
per request, attribute dicts are small, the parent context is extracted only when a
``traceparent`` or ``baggage`` header is present, and the access log record is built directly
(no caller lookup). Nothing here raises into the app: a failure of tripod's own bookkeeping is
logged once and the request goes on uninstrumented.
"""

from __future__ import annotations

import logging
import time
from contextvars import Token
from typing import Any

from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.trace import Span, Status, StatusCode

from tripod.catalog import UNMATCHED_ROUTE
from tripod.config import Settings
from tripod.sdk import logs, metrics, propagation, tracing
from tripod.sdk._serverspan import ServerSpan
from tripod.sdk.metrics import HttpServerMetrics
from tripod.sdk.propagation import BAGGAGE_KEY, span_ids

__all__ = ["Recorder", "RequestState", "normalize_method"]

_log = logging.getLogger("tripod")

# HTTP semantic conventions: known methods keep their name, anything else is "_OTHER".
_KNOWN_METHODS = frozenset(
    ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY")
)
_ERROR = Status(StatusCode.ERROR)
_NAMES_MAX = 10_000  # span names cached per (method, route); beyond, built per request


def _context_keys() -> tuple[str, str] | None:
    """The context keys under which OpenTelemetry keeps the current span and the baggage.

    Learnt once through the public API (each call on an empty context adds exactly one key), so
    ``start`` can build the request's context in one dict instead of three copies
    (``set_span_in_context`` + ``set_baggage``); None if that shape ever changes.
    """
    empty = otel_context.Context()
    span_ctx = trace.set_span_in_context(trace.INVALID_SPAN, empty)
    bag_ctx = baggage.set_baggage("k", "v", empty)
    if len(span_ctx) != 1 or len(bag_ctx) != 1:
        return None
    [span_key] = span_ctx
    [bag_key] = bag_ctx
    if not isinstance(bag_ctx[bag_key], dict) or span_key == bag_key:
        return None
    return span_key, bag_key


_KEYS = _context_keys()


def normalize_method(method: str) -> str:
    """The semconv value of ``http.request.method``: a known method in upper case, or _OTHER."""
    if method in _KNOWN_METHODS:
        return method
    upper = method.upper()
    return upper if upper in _KNOWN_METHODS else "_OTHER"


class RequestState:
    """Everything one request needs between ``start`` and ``finish``."""

    __slots__ = (
        "corr_token",
        "correlation_id",
        "ctx_token",
        "finished",
        "method",
        "metrics",
        "span",
        "start",
    )

    def __init__(self, method: str, correlation_id: str) -> None:
        self.start = time.perf_counter()
        self.method = method
        self.correlation_id = correlation_id
        self.corr_token: Token[str | None] = propagation.set_correlation_id(correlation_id)
        self.span: Span | None = None
        self.ctx_token: Token[otel_context.Context] | None = None
        self.metrics: HttpServerMetrics | None = None
        self.finished = False


class Recorder:
    """Per-app settings, computed once at ``instrument()`` time."""

    def __init__(self, settings: Settings) -> None:
        self.access_log = settings.access_log
        self.correlation_header = settings.correlation_header
        self.correlation_key = settings.correlation_header.lower()
        self.metrics_path = settings.metrics_path
        self.metrics_enabled = settings.metrics_enabled
        self._warned = False
        self._names: dict[tuple[str, str], str] = {}  # (method, route) -> span name

    def start(
        self,
        raw_method: str,
        *,
        path: str,
        scheme: str,
        carrier: dict[str, str] | None,
        correlation_id: str | None,
        attrs: dict[str, Any],
    ) -> RequestState:
        """Open the server span and bind the correlation id; ``attrs`` are its start attributes."""
        method = normalize_method(raw_method)
        corr = propagation.clean_correlation_id(correlation_id)
        state = RequestState(method, corr)
        try:
            if self.metrics_enabled:
                hm = metrics.http_server_metrics()
                hm.start(method)
                state.metrics = hm
            factory = tracing.server_spans()
            if factory is not None:
                parent = propagate.extract(carrier) if carrier else None
                attrs["http.request.method"] = method
                if method == "_OTHER":
                    attrs["http.request.method_original"] = raw_method
                attrs["url.path"] = path
                attrs["url.scheme"] = scheme
                attrs["correlation_id"] = corr
                span = factory.start(method, parent, attrs)
                state.span = span
                # The correlation id goes in baggage too, so downstream services see it even
                # without our header.
                base = parent if parent is not None else otel_context.get_current()
                bag = base.get(_KEYS[1]) if _KEYS is not None else ()
                if _KEYS is not None and (bag is None or isinstance(bag, dict)):
                    entries = {**bag, BAGGAGE_KEY: corr} if bag else {BAGGAGE_KEY: corr}
                    ctx = otel_context.Context({**base, _KEYS[0]: span, _KEYS[1]: entries})
                else:
                    ctx = trace.set_span_in_context(span, parent)
                    ctx = baggage.set_baggage(BAGGAGE_KEY, corr, ctx)
                state.ctx_token = otel_context.attach(ctx)
        except Exception:
            self._internal_error()
        return state

    def detach(self, state: RequestState) -> None:
        """Leave the request's context (the span stays open until ``finish``)."""
        try:
            if state.ctx_token is not None:
                otel_context.detach(state.ctx_token)
                state.ctx_token = None
            propagation.reset_correlation_id(state.corr_token)
        except Exception:
            self._internal_error()

    def finish(
        self,
        state: RequestState,
        *,
        route: str | None,
        status: int,
        request_size: int | None,
        response_size: int | None,
        exc: BaseException | None = None,
    ) -> None:
        """Close the span, record RED metrics and write the access log line (once)."""
        if state.finished:
            return
        state.finished = True
        try:
            duration = time.perf_counter() - state.start
            label = route or UNMATCHED_ROUTE
            trace_id = span_id = None
            exemplar_trace = exemplar_span = None
            span = state.span
            created: float | None = None
            if type(span) is ServerSpan and not span._ended:
                # tripod's own span: its attributes are a plain dict, written directly.
                attributes = span.attributes
                attributes["http.response.status_code"] = status
                if route:
                    span.name = self._span_name(state.method, route)
                    attributes["http.route"] = route
                if exc is not None:
                    span.record_exception(exc)
                    attributes["error.type"] = type(exc).__qualname__
                    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                elif status >= 500:
                    attributes["error.type"] = str(status)
                    span.set_status(_ERROR)
                span.end()
                created = span.end_time / 1e9 if span.end_time else None
                sc = span.context
                trace_id, span_id = span_ids(sc)
                if sc.trace_flags.sampled:
                    exemplar_trace, exemplar_span = trace_id, span_id
            elif span is not None:
                end_attrs: dict[str, Any] = {"http.response.status_code": status}
                if route:
                    span.update_name(self._span_name(state.method, route))
                    end_attrs["http.route"] = route
                if exc is not None:
                    span.record_exception(exc)
                    end_attrs["error.type"] = type(exc).__qualname__
                    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                elif status >= 500:
                    end_attrs["error.type"] = str(status)
                    span.set_status(_ERROR)
                span.set_attributes(end_attrs)
                span.end()
                sc = span.get_span_context()
                trace_id, span_id = span_ids(sc)
                if sc.trace_flags.sampled:
                    exemplar_trace, exemplar_span = trace_id, span_id
            if state.metrics is not None:
                state.metrics.finish(
                    state.method,
                    label,
                    status,
                    duration,
                    request_size=request_size,
                    response_size=response_size,
                    trace_id=exemplar_trace,
                    span_id=exemplar_span,
                )
            if self.access_log:
                logs.access(
                    state.method,
                    label,
                    status,
                    duration_ms=round(duration * 1000, 3),
                    correlation_id=state.correlation_id,
                    span=span,
                    trace_id=trace_id,
                    span_id=span_id,
                    created=created,
                )
        except Exception:
            self._internal_error()

    def _span_name(self, method: str, route: str) -> str:
        """``"{method} {route}"``, built once per route."""
        key = (method, route)
        name = self._names.get(key)
        if name is None:
            name = f"{method} {route}"
            if len(self._names) < _NAMES_MAX:
                self._names[key] = name
        return name

    def _internal_error(self) -> None:
        if not self._warned:
            self._warned = True
            _log.warning("tripod: request instrumentation failed; continuing", exc_info=True)
