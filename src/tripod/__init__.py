"""tripod: metrics, traces and logs for Python services, correlated, from one call.

import tripod
tripod.init(service_name="checkout")
app = tripod.instrument(app)
log = tripod.get_logger(__name__)
"""

from __future__ import annotations

__version__ = "0.1.0"

from tripod.config import ConfigError, Settings
from tripod.sdk import (
    bind,
    bound,
    correlation_id,
    counted,
    counter,
    force_flush,
    gauge,
    get_logger,
    health_check,
    histogram,
    init,
    inject_headers,
    instrument,
    instrument_httpx,
    instrument_requests,
    record_cache,
    record_retry,
    set_circuit_state,
    set_dependency_up,
    set_log_level,
    shutdown,
    span,
    timed,
    traced,
    track_job,
    unbind,
)

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
