"""The process-wide registry and the functions over it: create instruments, render /metrics.

- :func:`counter`, :func:`gauge`, :func:`histogram` create (or return the same) instruments.
- :func:`timed` times a function (sync or async) or a block into a histogram.
- :func:`render` writes Prometheus text 0.0.4 or OpenMetrics 1.0 (with exemplars);
  :data:`asgi_app`, :data:`wsgi_app` and :func:`start_http_server` serve it.

Everything registered on prometheus_client's default ``REGISTRY`` (including its process and
GC collectors) is exposed too, so existing instrumentation keeps working. Nothing here creates
a family at import: each appears when it is first asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tripod.config import DEFAULT_HTTP_BUCKETS
from tripod.sdk.metrics._children import HistogramChild
from tripod.sdk.metrics._instruments import Counter, Gauge, Histogram, family_name
from tripod.sdk.metrics._prefork import GAUGE_MODES, sharing_wanted
from tripod.sdk.metrics._process import RuntimeCollector
from tripod.sdk.metrics._registry import MetricsRegistry
from tripod.sdk.metrics._timer import Timer
from tripod.sdk.metrics._values import ValueFactory

if TYPE_CHECKING:  # serving and multi-process sharing are imported when first used
    from tripod.sdk.metrics._endpoint import MetricsServer, Receive, Scope, Send, StartResponse

__all__ = [
    "REGISTRY",
    "asgi_app",
    "counter",
    "gauge",
    "histogram",
    "render",
    "sample_value",
    "start_http_server",
    "timed",
    "wsgi_app",
]


class _ClientRegistry:
    """prometheus_client's default ``REGISTRY``, imported at the first scrape, not at import."""

    def collect(self) -> Iterable[Any]:
        import prometheus_client

        return prometheus_client.REGISTRY.collect()


#: The process-wide registry: tripod's families, then prometheus_client's default registry,
#: then process/runtime metrics if that registry no longer provides them.
def _shared_values() -> ValueFactory | None:
    """Values shared between the workers of a pre-fork server, or None (this process only)."""
    if not sharing_wanted():
        return None
    from tripod.sdk.metrics._multiprocess import factory_from_env

    return factory_from_env()


REGISTRY = MetricsRegistry(
    factory=_shared_values(),
    sources=[(_ClientRegistry(), True), (RuntimeCollector(), False)],
)


def counter(name: str, help: str, labels: Sequence[str] = (), unit: str = "") -> Counter:
    """A counter (exposed as ``<name>_total``); the same definition returns the same object."""
    return REGISTRY.register(lambda f: Counter(name, help, labels, unit, factory=f), Counter)


def gauge(
    name: str,
    help: str,
    labels: Sequence[str] = (),
    unit: str = "",
    multiprocess_mode: str = "livesum",
) -> Gauge:
    """A gauge; the same definition returns the same object.

    ``multiprocess_mode`` matters only with ``TRIPOD_MULTIPROC_DIR``: ``"livesum"`` shows the sum
    over live workers, ``"liveall"`` one series per live worker with a ``pid`` label.
    """
    if multiprocess_mode not in GAUGE_MODES:
        msg = (
            f"multiprocess_mode must be one of {', '.join(GAUGE_MODES)}, got {multiprocess_mode!r}"
        )
        raise ValueError(msg)

    def make(f: ValueFactory) -> Gauge:
        made = Gauge(name, help, labels, unit, factory=f)
        made.multiprocess_mode = multiprocess_mode
        return made

    return REGISTRY.register(make, Gauge)


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


def timed(metric: Histogram | str, **labels: str) -> Timer:
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
    return Timer(target)


def render(accept: str | None = None) -> tuple[bytes, str]:
    """The /metrics body and its content type, negotiated from an ``Accept`` header."""
    from tripod.sdk.metrics._exposition import (
        OPENMETRICS_CONTENT_TYPE,
        TEXT_CONTENT_TYPE,
        wants_openmetrics,
    )

    if wants_openmetrics(accept):
        return REGISTRY.render(openmetrics=True), OPENMETRICS_CONTENT_TYPE
    return REGISTRY.render(openmetrics=False), TEXT_CONTENT_TYPE


def sample_value(name: str, labels: Mapping[str, str] | None = None) -> float | None:
    """The current value of one sample as /metrics shows it, or None: a helper for tests.

    ``sample_value("jobs_total", {"queue": "email"})``; like prometheus_client's
    ``REGISTRY.get_sample_value``, it parses a full scrape, so keep it out of hot paths.
    """
    wanted = dict(labels or {})
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(render()[0].decode("utf-8")):
        for sample in family.samples:
            if sample.name == name and sample.labels == wanted:
                return float(sample.value)
    return None


_apps: list[Callable[..., Any]] = []  # the ASGI and WSGI apps, made on first use


def _served() -> list[Callable[..., Any]]:
    if not _apps:
        from tripod.sdk.metrics._endpoint import make_asgi_app, make_wsgi_app

        _apps[:] = [make_asgi_app(render), make_wsgi_app(render)]
    return _apps


async def asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI app serving :func:`render` (GET/HEAD; content negotiated)."""
    await _served()[0](scope, receive, send)


def wsgi_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """WSGI app serving :func:`render` (GET/HEAD; content negotiated)."""
    body: Iterable[bytes] = _served()[1](environ, start_response)
    return body


def start_http_server(port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve /metrics on its own thread at ``host:port`` (0: a free port; see ``.port``)."""
    from tripod.sdk.metrics._endpoint import serve

    return serve(render, port, host)
