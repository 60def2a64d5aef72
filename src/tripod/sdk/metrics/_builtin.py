"""tripod's own metrics, as the catalog defines them: HTTP server RED metrics and dropped
telemetry; and the settings that shape them (``configure``, ``reset``).

:class:`HttpServerMetrics` is what the ASGI/WSGI middleware calls once per request. Its
families are created when it is first asked for (or by ``tripod.init()``), not at import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from tripod import catalog
from tripod.catalog import MetricSpec
from tripod.config import DEFAULT_HTTP_BUCKETS, Settings
from tripod.sdk.metrics._children import log_once, reset_log_once
from tripod.sdk.metrics._default import REGISTRY, counter, gauge, histogram
from tripod.sdk.metrics._exemplars import enabled as exemplars_enabled
from tripod.sdk.metrics._exemplars import set_enabled as set_exemplars
from tripod.sdk.metrics._instruments import Counter, Family, Gauge, Histogram

__all__ = ["HttpServerMetrics", "configure", "http_server_metrics", "record_dropped", "reset"]

# HTTP request methods of the OpenTelemetry semantic conventions; others become "_OTHER" so a
# scanner sending random methods cannot create series.
_KNOWN_METHODS = frozenset(
    ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE")
)
_SERIES_CACHE_MAX = 10_000


class _State:
    enabled = True
    http_buckets: tuple[float, ...] = DEFAULT_HTTP_BUCKETS


def _from_spec(spec: MetricSpec, buckets: Sequence[float] | None = None) -> Family:
    """Register a catalog metric exactly as the catalog defines it."""
    if spec.type == "counter":
        return counter(spec.name, spec.help, spec.labels, spec.unit)
    if spec.type == "gauge":
        return gauge(spec.name, spec.help, spec.labels, spec.unit)
    if spec.type == "histogram":
        return histogram(spec.name, spec.help, spec.labels, spec.unit, buckets or spec.buckets)
    msg = f"catalog metric {spec.name!r} has type {spec.type!r}, which the SDK does not record"
    raise ValueError(msg)


class HttpServerMetrics:
    """The HTTP server RED metrics of the catalog, recorded by the ASGI/WSGI middleware.

    Children are cached per (method, route, status), so a request costs three bucket
    increments and one gauge update; nothing here raises into the request.
    """

    def __init__(self) -> None:
        self._bind()

    def _bind(self) -> None:
        """(Re)read the families from the registry; called after configure() or reset()."""
        self._enabled = _State.enabled
        self._exemplars = exemplars_enabled()
        self._duration = cast(Histogram, _from_spec(catalog.HTTP_SERVER_REQUEST_DURATION,
                                                     _State.http_buckets))  # fmt: skip
        self._request_size = cast(Histogram, _from_spec(catalog.HTTP_SERVER_REQUEST_BODY_SIZE))
        self._response_size = cast(Histogram, _from_spec(catalog.HTTP_SERVER_RESPONSE_BODY_SIZE))
        self._active = cast(Gauge, _from_spec(catalog.HTTP_SERVER_ACTIVE_REQUESTS))
        self._series: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        self._active_by_method: dict[str, Any] = {}

    def start(self, method: str) -> None:
        """A request began: ``http_server_active_requests{http_request_method}`` +1."""
        if not self._enabled:
            return
        try:
            child = self._active_by_method.get(method)
            if child is None:
                child = self._active_child(method)
            child.inc()
        except Exception as exc:
            log_once("http:start", f"tripod: HTTP metrics start() failed: {exc!r}")

    def finish(
        self,
        method: str,
        route: str,
        status_code: int,
        duration_s: float,
        *,
        request_size: int | None = None,
        response_size: int | None = None,
        trace_id: str | None = None,
        span_id: str | None = None,
    ) -> None:
        """A request ended: active -1, observe duration and body sizes (exemplar if sampled)."""
        if not self._enabled:
            return
        try:
            active = self._active_by_method.get(method)
            if active is None:
                active = self._active_child(method)
            active.dec()
            key = (method, route, status_code)
            series = self._series.get(key)
            if series is None:
                series = self._new_series(key)
            duration, request, response = series
            if trace_id is not None and self._exemplars:
                duration.observe_trace(duration_s, trace_id, span_id or "")
            else:
                duration.observe(duration_s)
            if request_size is not None:
                request.observe(request_size)
            if response_size is not None:
                response.observe(response_size)
        except Exception as exc:
            log_once("http:finish", f"tripod: HTTP metrics finish() failed: {exc!r}")

    def _active_child(self, method: str) -> Any:
        label = method if method in _KNOWN_METHODS else "_OTHER"
        child = self._active.labels(label)
        if len(self._active_by_method) < _SERIES_CACHE_MAX:
            self._active_by_method[method] = child
        return child

    def _new_series(self, key: tuple[str, str, int]) -> tuple[Any, Any, Any]:
        method, route, status = key
        labels = (
            method if method in _KNOWN_METHODS else "_OTHER",
            str(route),
            str(int(status)),
        )
        series = (
            self._duration.labels(*labels),
            self._request_size.labels(*labels),
            self._response_size.labels(*labels),
        )
        if len(self._series) < _SERIES_CACHE_MAX:  # beyond: still correct, just not cached
            self._series[key] = series
        return series


_HTTP: HttpServerMetrics | None = None
_DROPPED: Counter | None = None


def http_server_metrics() -> HttpServerMetrics:
    """The process-wide :class:`HttpServerMetrics` (the same object across configure/reset)."""
    global _HTTP
    if _HTTP is None:
        _HTTP = HttpServerMetrics()
    return _HTTP


def _dropped() -> Counter:
    global _DROPPED
    if _DROPPED is None:
        _DROPPED = cast(Counter, _from_spec(catalog.TELEMETRY_DROPPED))
    return _DROPPED


def record_dropped(signal: str, count: int = 1) -> None:
    """Count items tripod dropped rather than slow the app: ``tripod_telemetry_dropped_total``."""
    try:
        _dropped().labels(signal).inc(count)
    except Exception as exc:  # called from export threads: never raise there either
        log_once("record_dropped", f"tripod: cannot count dropped telemetry: {exc!r}")


def configure(settings: Settings) -> None:
    """Apply settings (called by ``tripod.init()``): HTTP buckets, exemplars, on/off; and
    create tripod's own families, so a scrape shows them (at zero) from the start.

    Idempotent; a change of ``http_buckets`` replaces the duration histogram (its series restart
    from zero), which only happens when init() is called again with other buckets.
    """
    _State.enabled = settings.metrics_enabled and not settings.sdk_disabled
    set_exemplars(settings.exemplars)
    buckets = tuple(settings.http_buckets)
    if buckets != _State.http_buckets:
        REGISTRY.unregister(catalog.HTTP_SERVER_REQUEST_DURATION.name)
        _State.http_buckets = buckets
    http_server_metrics()._bind()
    _dropped()


def reset() -> None:
    """Forget every tripod metric and setting (tests): an empty registry, default settings.

    A :class:`HttpServerMetrics` already handed out (middleware keeps it) re-creates its
    families at once, so it keeps recording; nothing else is created until it is used.
    """
    global _DROPPED
    REGISTRY.clear()
    reset_log_once()
    _State.enabled = True
    set_exemplars(True)
    _State.http_buckets = DEFAULT_HTTP_BUCKETS
    _DROPPED = None
    if _HTTP is not None:
        _HTTP._bind()
