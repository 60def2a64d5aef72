"""Prometheus metrics for the app tripod instruments: RED instruments, helpers, /metrics.

- :func:`counter`, :func:`gauge`, :func:`histogram` create (or return the same) instruments.
- :func:`timed` times a function (sync or async) or a block into a histogram.
- :class:`HttpServerMetrics` records the HTTP server metrics of the catalog; the ASGI/WSGI
  middleware calls it once per request.
- :func:`render` writes Prometheus text 0.0.4 or OpenMetrics 1.0 (with exemplars);
  :func:`asgi_app`, :func:`wsgi_app` and :func:`start_http_server` serve it.

Everything registered on prometheus_client's default ``REGISTRY`` (including its process and
GC collectors) is exposed too, so existing instrumentation keeps working.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import prometheus_client
from opentelemetry import trace as _otel_trace
from prometheus_client.parser import text_string_to_metric_families

from tripod import catalog
from tripod.catalog import MetricSpec
from tripod.config import DEFAULT_HTTP_BUCKETS, Settings
from tripod.sdk._exposition import (
    OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    wants_openmetrics,
)
from tripod.sdk._metrics_children import HistogramChild, log_once, reset_log_once
from tripod.sdk._metrics_endpoint import MetricsServer, make_asgi_app, make_wsgi_app, serve
from tripod.sdk._metrics_instruments import Counter, Family, Gauge, Histogram, family_name
from tripod.sdk._metrics_registry import MetricsRegistry
from tripod.sdk._process import RuntimeCollector

__all__ = [
    "Counter",
    "Gauge",
    "Histogram",
    "HttpServerMetrics",
    "MetricsServer",
    "asgi_app",
    "configure",
    "counter",
    "gauge",
    "histogram",
    "http_server_metrics",
    "record_dropped",
    "render",
    "reset",
    "sample_value",
    "start_http_server",
    "timed",
    "wsgi_app",
]

FuncT = TypeVar("FuncT", bound=Callable[..., Any])

#: The process-wide registry: tripod's families, then prometheus_client's default registry,
#: then process/runtime metrics if that registry no longer provides them.
REGISTRY = MetricsRegistry(
    sources=[(prometheus_client.REGISTRY, True), (RuntimeCollector(), False)]
)

# HTTP request methods of the OpenTelemetry semantic conventions; others become "_OTHER" so a
# scanner sending random methods cannot create series.
_KNOWN_METHODS = frozenset(
    ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE")
)


_SERIES_CACHE_MAX = 10_000


class _State:
    enabled = True
    exemplars = True
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
        self._exemplars = _State.exemplars
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
    """Apply settings (called by ``tripod.init()``): HTTP buckets, exemplars, on/off.

    Idempotent; a change of ``http_buckets`` replaces the duration histogram (its series restart
    from zero), which only happens when init() is called again with other buckets.
    """
    _State.enabled = settings.metrics_enabled and not settings.sdk_disabled
    _State.exemplars = settings.exemplars
    buckets = tuple(settings.http_buckets)
    if buckets != _State.http_buckets:
        REGISTRY.unregister(catalog.HTTP_SERVER_REQUEST_DURATION.name)
        _State.http_buckets = buckets
    http_server_metrics()._bind()
    _dropped()


def reset() -> None:
    """Forget every tripod metric and setting (tests): a fresh registry with the catalog's."""
    global _DROPPED
    REGISTRY.clear()
    reset_log_once()
    _State.enabled = True
    _State.exemplars = True
    _State.http_buckets = DEFAULT_HTTP_BUCKETS
    _DROPPED = None
    http_server_metrics()._bind()
    _dropped()


def render(accept: str | None = None) -> tuple[bytes, str]:
    """The /metrics body and its content type, negotiated from an ``Accept`` header."""
    if wants_openmetrics(accept):
        return REGISTRY.render(openmetrics=True), OPENMETRICS_CONTENT_TYPE
    return REGISTRY.render(openmetrics=False), TEXT_CONTENT_TYPE


def sample_value(name: str, labels: Mapping[str, str] | None = None) -> float | None:
    """The current value of one sample as /metrics shows it, or None: a helper for tests.

    ``sample_value("jobs_total", {"queue": "email"})``; like prometheus_client's
    ``REGISTRY.get_sample_value``, it parses a full scrape, so keep it out of hot paths.
    """
    wanted = dict(labels or {})
    for family in text_string_to_metric_families(render()[0].decode("utf-8")):
        for sample in family.samples:
            if sample.name == name and sample.labels == wanted:
                return float(sample.value)
    return None


asgi_app = make_asgi_app(render)
asgi_app.__doc__ = "ASGI app serving :func:`render` (GET/HEAD; content negotiated)."
wsgi_app = make_wsgi_app(render)
wsgi_app.__doc__ = "WSGI app serving :func:`render` (GET/HEAD; content negotiated)."


def start_http_server(port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve /metrics on its own thread at ``host:port`` (0: a free port; see ``.port``)."""
    return serve(render, port, host)


# --- instruments ----------------------------------------------------------------------------


def counter(name: str, help: str, labels: Sequence[str] = (), unit: str = "") -> Counter:
    """A counter (exposed as ``<name>_total``); the same definition returns the same object."""
    return REGISTRY.register(lambda f: Counter(name, help, labels, unit, factory=f), Counter)


def gauge(name: str, help: str, labels: Sequence[str] = (), unit: str = "") -> Gauge:
    """A gauge; the same definition returns the same object."""
    return REGISTRY.register(lambda f: Gauge(name, help, labels, unit, factory=f), Gauge)


def histogram(
    name: str,
    help: str,
    labels: Sequence[str] = (),
    unit: str = "",
    buckets: Sequence[float] | None = None,
) -> Histogram:
    """A histogram; ``buckets`` default to the HTTP duration buckets (seconds).

    Asking again without ``buckets`` returns the existing histogram whatever its buckets.
    """
    if buckets is None:
        existing = REGISTRY.get(family_name(name, "histogram", unit))
        if isinstance(existing, Histogram) and existing.labelnames == tuple(labels):
            return existing
        buckets = DEFAULT_HTTP_BUCKETS
    bounds = buckets
    return REGISTRY.register(
        lambda f: Histogram(name, help, labels, unit, factory=f, buckets=bounds), Histogram
    )


def _current_trace() -> tuple[str, str] | None:
    """The ids of the current span if it is sampled (for an exemplar), else None."""
    ctx = _otel_trace.get_current_span().get_span_context()
    if ctx.trace_flags.sampled:
        return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
    return None


class _Timed:
    """Times a block or each call of a function into a histogram child, in seconds."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self._starts: list[float] = []

    def _record(self, elapsed: float) -> None:
        try:
            ids = _current_trace() if _State.exemplars else None
        except Exception:
            ids = None
        if ids is None:
            self._target.observe(elapsed)
        else:
            self._target.observe_trace(elapsed, *ids)

    def __enter__(self) -> _Timed:
        self._starts.append(time.perf_counter())
        return self

    def __exit__(self, *exc: object) -> None:
        self._record(time.perf_counter() - self._starts.pop())

    async def __aenter__(self) -> _Timed:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    def __call__(self, func: FuncT) -> FuncT:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await func(*args, **kwargs)
                finally:
                    self._record(time.perf_counter() - start)

            return cast(FuncT, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self._record(time.perf_counter() - start)

        return cast(FuncT, wrapper)


def timed(metric: Histogram | str, **labels: str) -> _Timed:
    """Time a function (sync or async, as a decorator) or a ``with`` block into a histogram.

    ``metric`` is a histogram or its name; a name not registered yet creates a histogram in
    seconds (``<name>_seconds``) with the given label names. Exceptions are timed too.
    """
    if isinstance(metric, str):
        found = REGISTRY.get(family_name(metric, "histogram", "seconds")) or REGISTRY.get(metric)
        if found is None:
            found = histogram(
                metric, f"Duration of {metric}.", labels=sorted(labels), unit="seconds"
            )
        if not isinstance(found, Histogram):
            msg = f"timed({metric!r}) needs a histogram, but {metric!r} is a {found.kind}"
            raise TypeError(msg)
        metric = found
    if not isinstance(metric, Histogram):
        msg = f"timed() needs a tripod histogram or its name, got {type(metric).__name__}"
        raise TypeError(msg)
    target: HistogramChild | Histogram = metric.labels(**labels) if labels else metric
    return _Timed(target)


http_server_metrics()
_dropped()
