"""Framework integrations: the ASGI and WSGI middleware ``tripod.instrument()`` installs.

Both share one per-request recorder (``_http``): a server span, RED metrics, the access log.
"""

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
