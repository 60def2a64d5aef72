"""tripod: metrics, traces and logs for Python services, correlated, from one call.

import tripod
tripod.init(service_name="checkout")
app = tripod.instrument(app)
log = tripod.get_logger(__name__)
"""

from __future__ import annotations

__version__ = "0.1.0"

from tripod.config import ConfigError, Settings
from tripod.sdk._setup import force_flush, init, instrument, shutdown
from tripod.sdk.context import bind, bound, correlation_id, inject_headers, unbind
from tripod.sdk.logs import get_logger, set_log_level
from tripod.sdk.metrics import counter, gauge, histogram, timed
from tripod.sdk.tracing import span, traced

__all__ = [
    "ConfigError",
    "Settings",
    "__version__",
    "bind",
    "bound",
    "correlation_id",
    "counter",
    "force_flush",
    "gauge",
    "get_logger",
    "histogram",
    "init",
    "inject_headers",
    "instrument",
    "set_log_level",
    "shutdown",
    "span",
    "timed",
    "traced",
    "unbind",
]
