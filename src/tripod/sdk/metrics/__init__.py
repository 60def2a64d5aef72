"""Prometheus metrics for the app tripod instruments: instruments, /metrics, the RED metrics.

The face of the package; the rooms behind it, from the ground up: ``_values`` (where numbers
live), ``_children`` (one series each), ``_timer``, ``_instruments`` (families),
``_exposition`` (text formats), ``_registry``, ``_endpoint`` (serving), ``_default`` (the
process-wide registry and its helpers) and ``_builtin`` (the catalog's metrics and settings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tripod.sdk.metrics._builtin import (
    HttpServerMetrics,
    configure,
    http_server_metrics,
    record_dropped,
    reset,
)
from tripod.sdk.metrics._default import (
    REGISTRY,
    asgi_app,
    counter,
    gauge,
    histogram,
    render,
    sample_value,
    start_http_server,
    timed,
    wsgi_app,
)
from tripod.sdk.metrics._instruments import Counter, Gauge, Histogram
from tripod.sdk.metrics._registry import MetricsRegistry
from tripod.sdk.metrics._timer import Timer

if TYPE_CHECKING:
    from tripod.sdk.metrics._endpoint import MetricsServer


def __getattr__(name: str) -> Any:
    """``MetricsServer``: its module (the HTTP serving) is imported when first asked for."""
    if name == "MetricsServer":
        from tripod.sdk.metrics._endpoint import MetricsServer

        globals()["MetricsServer"] = MetricsServer  # later lookups skip this hook
        return MetricsServer
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "REGISTRY",
    "Counter",
    "Gauge",
    "Histogram",
    "HttpServerMetrics",
    "MetricsRegistry",
    "MetricsServer",
    "Timer",
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
