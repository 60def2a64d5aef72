"""Framework integrations: the ASGI and WSGI middleware ``tripod.instrument()`` installs.

Both share one per-request recorder (``_http``): a server span, RED metrics, the access log.
The names below are loaded on first use (PEP 562), so importing this package, which
``tripod.init()`` does, imports no framework, HTTP client or Celery: each integration module is
imported when the app asks for it or imports its library (see ``_lazy``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tripod.sdk.integrations.asgi import TripodASGIMiddleware, instrument_asgi
    from tripod.sdk.integrations.celery import instrument_celery
    from tripod.sdk.integrations.sqlalchemy import instrument_engine
    from tripod.sdk.integrations.wsgi import TripodWSGIMiddleware, instrument_wsgi

__all__ = [
    "TripodASGIMiddleware",
    "TripodWSGIMiddleware",
    "instrument_asgi",
    "instrument_celery",
    "instrument_engine",
    "instrument_wsgi",
]

_HOME = {
    "TripodASGIMiddleware": "asgi",
    "TripodWSGIMiddleware": "wsgi",
    "instrument_asgi": "asgi",
    "instrument_celery": "celery",
    "instrument_engine": "sqlalchemy",
    "instrument_wsgi": "wsgi",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
