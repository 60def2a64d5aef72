"""tripod: metrics, traces and logs for Python services, correlated, from one call.

import tripod
tripod.init(service_name="checkout")
app = tripod.instrument(app)
log = tripod.get_logger(__name__)
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from tripod.config import ConfigError, Settings
from tripod.sdk import (
    bind,
    bound,
    correlation_id,
    counter,
    force_flush,
    gauge,
    get_logger,
    histogram,
    init,
    inject_headers,
    instrument,
    set_log_level,
    shutdown,
    span,
    timed,
    traced,
    unbind,
)

if TYPE_CHECKING:
    from tripod.sdk import (
        counted,
        health_check,
        instrument_httpx,
        instrument_requests,
        record_cache,
        record_retry,
        set_circuit_state,
        set_dependency_up,
        track_job,
    )


def __getattr__(name: str) -> Any:
    """The helpers ``init()`` does not need are imported on first use (``tripod.sdk._LAZY``)."""
    from tripod import sdk

    if name not in sdk._LAZY:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(sdk, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    from tripod import sdk

    return sorted({*globals(), *sdk._LAZY})


__all__ = [
    "ConfigError",
    "Settings",
    "__version__",
    "bind",
    "bound",
    "correlation_id",
    "counted",
    "counter",
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
    "timed",
    "traced",
    "track_job",
    "unbind",
]
