"""tripod: metrics, traces and logs for Python services, correlated, from one call.

import tripod
tripod.init(service_name="checkout")
app = tripod.instrument(app)
log = tripod.get_logger(__name__)
"""

from __future__ import annotations

__version__ = "0.1.0"

from tripod.config import ConfigError, Settings

__all__ = ["ConfigError", "Settings", "__version__"]
