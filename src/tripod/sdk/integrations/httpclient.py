"""Outgoing HTTP: a CLIENT span, ``http_client_request_duration_seconds`` and propagation headers
for every request sent with requests or httpx (sync and async).

``requests.Session.send`` and the ``handle_request`` methods of httpx's default transports
(``HTTPTransport``, ``AsyncHTTPTransport``) are wrapped when ``tripod.init()`` runs with
``instrument_requests``/``instrument_httpx`` on (the default), or when the user calls
:func:`instrument_requests`/:func:`instrument_httpx`; never at import. Wrapping at the transport
makes one span per request on the wire (each redirect hop is its own span, as the semantic
conventions ask), for clients created before or after ``init()``.

Each request gets ``traceparent``/``tracestate``/``baggage`` and the correlation id header
through the propagator :mod:`tripod.sdk.propagation` installs. ``url.full`` has credentials and
secret-named query values (``token``, ``api_key``, ``sig``...) redacted. The metric's labels are
bounded: method, status code, server address and error type, never the path. The client's
exception reaches the caller unchanged; tripod's own failures are logged once and swallowed.
Calls made while instrumentation is suppressed (tripod's own OTLP export) are left alone.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.trace import SpanKind, Status, StatusCode

from tripod import catalog
from tripod.config import Settings
from tripod.sdk import metrics, tracing
from tripod.sdk._log_fields import REDACTED, redact_item
from tripod.sdk.integrations._http import normalize_method
from tripod.sdk.propagation import span_ids

__all__ = ["configure", "instrument_httpx", "instrument_requests", "redact_url", "uninstrument"]

_log = logging.getLogger("tripod")

# Query keys the HTTP semantic conventions name as secrets, besides tripod's redact keys.
_SECRET_QUERY_KEYS = frozenset(("awsaccesskeyid", "signature", "sig", "x-goog-signature"))
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _State:
    metrics_enabled = True
    exemplars = True
    warned = False
    # (owner class, attribute name) -> the original function, for uninstrument().
    originals: dict[tuple[type, str], Any] = {}


def configure(settings: Settings) -> None:
    """Apply ``settings`` (called by ``tripod.init()``): wrap the clients it asks for."""
    _State.metrics_enabled = settings.metrics_enabled
    _State.exemplars = settings.exemplars
    if settings.instrument_requests:
        instrument_requests()
    if settings.instrument_httpx:
        instrument_httpx()


def _internal_error() -> None:
    if not _State.warned:
        _State.warned = True
        _log.warning("tripod: outgoing HTTP instrumentation failed; continuing", exc_info=True)


def redact_url(url: str) -> str:
    """``url`` with user:password and secret-named query values replaced by ``[REDACTED]``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}:{REDACTED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = []
        for pair in query.split("&"):
            key, eq, _value = pair.partition("=")
            name = unquote(key)
            secret = name.lower() in _SECRET_QUERY_KEYS or redact_item(name, "") == REDACTED
            pairs.append(f"{key}={REDACTED}" if eq and secret else pair)
        query = "&".join(pairs)
    return parts._replace(netloc=netloc, query=query, fragment="").geturl()


class _Call:
    """One outgoing request between ``start`` and ``finish``."""

    __slots__ = ("address", "method", "port", "span", "start")

    def __init__(self, method: str, url: str, headers: MutableMapping[str, str]) -> None:
        self.start = time.perf_counter()
        self.method = normalize_method(method)
        self.span: trace.Span | None = None
        parts = urlsplit(url)
        self.address = parts.hostname or ""
        try:
            port = parts.port
        except ValueError:
            port = None
        self.port = port or _DEFAULT_PORTS.get(parts.scheme, 0)
        ctx: otel_context.Context | None = None
        tracer = tracing.current_tracer()
        if tracer is not None:
            attrs: dict[str, Any] = {
                "http.request.method": self.method,
                "url.full": redact_url(url),
                "server.address": self.address,
            }
            if self.port:
                attrs["server.port"] = self.port
            if self.method == "_OTHER":
                attrs["http.request.method_original"] = method
            self.span = tracer.start_span(self.method, kind=SpanKind.CLIENT, attributes=attrs)
            ctx = trace.set_span_in_context(self.span)
        propagate.inject(headers, context=ctx)

    def finish(self, status: int | None, exc: BaseException | None) -> None:
        duration = time.perf_counter() - self.start
        error_type = ""
        if exc is not None:
            error_type = type(exc).__qualname__
        elif status is not None and status >= 400:
            error_type = str(status)
        span = self.span
        if span is not None:
            if status is not None:
                span.set_attribute("http.response.status_code", status)
            if error_type:
                span.set_attribute("error.type", error_type)
                if exc is not None:
                    span.record_exception(exc)
                    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                else:
                    span.set_status(Status(StatusCode.ERROR))
            span.end()
        if _State.metrics_enabled:
            spec = catalog.HTTP_CLIENT_REQUEST_DURATION
            hist = metrics.histogram(spec.name, spec.help, spec.labels, spec.unit, spec.buckets)
            labels = (self.method, "" if status is None else str(status), self.address, error_type)
            ids = None
            sampled = span is not None and span.get_span_context().trace_flags.sampled
            if span is not None and sampled and _State.exemplars:
                ids = span_ids(span.get_span_context())
            child = hist.labels(*labels)
            if ids is not None:
                child.observe_trace(duration, *ids)
            else:
                child.observe(duration)


def _begin(method: str, url: str, headers: MutableMapping[str, str]) -> _Call | None:
    """A started call, or None when suppressed or tripod itself failed (never raises)."""
    if otel_context.get_value(_SUPPRESS_INSTRUMENTATION_KEY):
        return None
    try:
        return _Call(method, url, headers)
    except Exception:
        _internal_error()
        return None


def _end(call: _Call | None, status: int | None, exc: BaseException | None) -> None:
    if call is None:
        return
    try:
        call.finish(status, exc)
    except Exception:
        _internal_error()


def _patch(owner: type, name: str, make: Callable[[Any], Any]) -> None:
    if (owner, name) in _State.originals:
        return
    original = getattr(owner, name)
    _State.originals[owner, name] = original
    setattr(owner, name, functools.wraps(original)(make(original)))


def instrument_requests() -> bool:
    """Trace and measure every request sent with ``requests``; False if it is not installed.

    Idempotent. ``tripod.init()`` calls it unless ``instrument_requests`` is off.
    """
    try:
        import requests  # optional dependency, looked for only when asked
    except ImportError:
        return False

    def make(original: Any) -> Any:
        def send(self: Any, request: Any, **kwargs: Any) -> Any:
            call = _begin(str(request.method or "GET"), str(request.url), request.headers)
            try:
                response = original(self, request, **kwargs)
            except BaseException as exc:
                _end(call, None, exc)
                raise
            _end(call, int(response.status_code), None)
            return response

        return send

    _patch(requests.Session, "send", make)
    return True


def instrument_httpx() -> bool:
    """Trace and measure every request sent with ``httpx`` (``Client`` and ``AsyncClient``);
    False if it is not installed. Idempotent. ``tripod.init()`` calls it unless
    ``instrument_httpx`` is off."""
    try:
        import httpx  # optional dependency, looked for only when asked
    except ImportError:
        return False

    def make_sync(original: Any) -> Any:
        def handle_request(self: Any, request: Any) -> Any:
            call = _begin(request.method, str(request.url), request.headers)
            try:
                response = original(self, request)
            except BaseException as exc:
                _end(call, None, exc)
                raise
            _end(call, int(response.status_code), None)
            return response

        return handle_request

    def make_async(original: Any) -> Any:
        async def handle_async_request(self: Any, request: Any) -> Any:
            call = _begin(request.method, str(request.url), request.headers)
            try:
                response = await original(self, request)
            except BaseException as exc:
                _end(call, None, exc)
                raise
            _end(call, int(response.status_code), None)
            return response

        return handle_async_request

    _patch(httpx.HTTPTransport, "handle_request", make_sync)
    _patch(httpx.AsyncHTTPTransport, "handle_async_request", make_async)
    return True


def uninstrument() -> None:
    """Put back every wrapped method (tests, or an app that wants plain clients again)."""
    for (owner, name), original in list(_State.originals.items()):
        setattr(owner, name, cast(Any, original))
    _State.originals.clear()
