"""The SDK: runs inside the user's process and imports nothing from ``tripod.server``.

Its parts, each a module with its own ``__all__``: ``metrics`` (a package), ``tracing``,
``logs``, ``propagation`` (correlation id, W3C headers) and ``integrations`` (ASGI, WSGI);
``_setup`` wires them together behind ``init()``. This face re-exports what ``tripod`` offers
plus the few SDK-level extras (extra span exporters, structlog, the active settings).

The helpers ``init()`` does not need (domain metrics, health checks, the explicit HTTP client
instrumentation) are imported the first time one of them is asked for (:data:`_LAZY`), which
keeps ``import tripod`` + ``init()`` short.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tripod.sdk._active import current_settings
from tripod.sdk._setup import force_flush, init, instrument, shutdown
from tripod.sdk.logs import get_logger, set_log_level, structlog_processors
from tripod.sdk.metrics import counter, gauge, histogram, timed
from tripod.sdk.propagation import bind, bound, correlation_id, inject_headers, unbind
from tripod.sdk.tracing import add_exporter, span, traced

if TYPE_CHECKING:
    from tripod.sdk.health import health_check
    from tripod.sdk.helpers import (
        counted,
        record_cache,
        record_retry,
        set_circuit_state,
        set_dependency_up,
        track_job,
    )
    from tripod.sdk.integrations.httpclient import instrument_httpx, instrument_requests

#: Public names whose module is imported on first use: name -> module.
_LAZY = {
    "health_check": "tripod.sdk.health",
    "counted": "tripod.sdk.helpers",
    "record_cache": "tripod.sdk.helpers",
    "record_retry": "tripod.sdk.helpers",
    "set_circuit_state": "tripod.sdk.helpers",
    "set_dependency_up": "tripod.sdk.helpers",
    "track_job": "tripod.sdk.helpers",
    "instrument_httpx": "tripod.sdk.integrations.httpclient",
    "instrument_requests": "tripod.sdk.integrations.httpclient",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "add_exporter",
    "bind",
    "bound",
    "correlation_id",
    "counted",
    "counter",
    "current_settings",
    "force_flush",
    "gauge",
    "get_logger",
    "health_check",
    "histogram",
    "init",
    "inject_headers",
    "instrument",
    "instrument_httpx",
    "instrument_requests",
    "record_cache",
    "record_retry",
    "set_circuit_state",
    "set_dependency_up",
    "set_log_level",
    "shutdown",
    "span",
    "structlog_processors",
    "timed",
    "traced",
    "track_job",
    "unbind",
]
