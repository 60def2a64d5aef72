"""``/metrics`` (and tripod's health endpoints) as Django responses: the same bodies, status
codes and headers the WSGI/ASGI middleware serve, produced by the same WSGI apps."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse

from tripod.sdk import metrics

__all__ = ["metrics_view", "wsgi_response"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_response(app: WSGIApp, request: HttpRequest) -> HttpResponse:
    """Run a small WSGI app (tripod's own endpoints) on ``request.META`` and wrap its answer."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None

    body = b"".join(app(request.META, start_response))
    status, headers = started
    response = HttpResponse(body, status=int(status[:3]))
    for name, value in headers:
        response[name] = value
    return response


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus/OpenMetrics exposition of this process (GET/HEAD; content negotiated).

    ``path("metrics", metrics_view)`` in ``urls.py``; :class:`TripodMiddleware` already answers
    the configured ``metrics_path`` (default ``/metrics``) itself, so this is for another path
    or a project without the middleware.
    """
    return wsgi_response(metrics.wsgi_app, request)
