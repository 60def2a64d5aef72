"""Django: request telemetry, ``/metrics`` and database spans.

In ``settings.py``::

    INSTALLED_APPS = [..., "tripod.sdk.integrations.django"]  # calls tripod.init() if needed
    MIDDLEWARE = ["tripod.sdk.integrations.django.TripodMiddleware", ...]  # first

``TripodMiddleware`` records the same server span, RED metrics, access log, correlation id and
trace context as the WSGI/ASGI middleware, with the resolved URL pattern as ``http.route``;
every query of every connection becomes a client span with a sanitised statement and a
``db_client_operation_duration_seconds`` sample; :func:`metrics_view` serves ``/metrics``
elsewhere if wanted. Django is imported by this package only.
"""

from tripod.sdk.integrations.django._db import instrument_db
from tripod.sdk.integrations.django._middleware import TripodMiddleware, route_of
from tripod.sdk.integrations.django._views import metrics_view

__all__ = ["TripodMiddleware", "instrument_db", "metrics_view", "route_of"]
