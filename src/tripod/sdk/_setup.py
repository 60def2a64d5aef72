"""``tripod.init()``/``shutdown()``/``instrument()``: wire settings into the three pillars.

``init()`` is the one place tripod raises (:class:`~tripod.config.ConfigError`, for settings it
cannot use). It may be called again: the previous set-up is shut down first. With
``OTEL_SDK_DISABLED=true`` nothing is installed and every helper stays a no-op.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import inspect
import logging
import os
import signal
import threading
import time
from typing import Any, TypeVar

from tripod.config import Settings, load_settings
from tripod.sdk import logs, metrics, propagation, tracing
from tripod.sdk._active import current_settings, set_current
from tripod.sdk.integrations import _lazy

__all__ = ["current_settings", "force_flush", "init", "instrument", "shutdown"]

_log = logging.getLogger("tripod")
_lock = threading.RLock()
_metrics_server: Any = None
_atexit_registered = False

AppT = TypeVar("AppT")


def _record_dropped(signal: str, count: int) -> None:
    with contextlib.suppress(Exception):
        metrics.record_dropped(signal, count)


def init(**overrides: Any) -> Settings:
    """Set up metrics, traces and logs from ``overrides`` > environment > pyproject > defaults.

    Raises :class:`tripod.ConfigError` naming the first unusable setting. Returns the settings.
    """
    global _atexit_registered, _metrics_server
    settings = load_settings(overrides)
    with _lock:
        shutdown()
        if settings.sdk_disabled:
            set_current(settings)
            return settings
        resource = tracing.build_resource(settings)
        tracing.configure(settings, resource, _record_dropped)  # may raise ConfigError
        try:
            propagation.configure(settings.correlation_header)
            metrics.configure(settings)
            logs.configure(settings, resource, _record_dropped)
            if settings.metrics_port is not None:
                _metrics_server = metrics.start_http_server(settings.metrics_port)
        except Exception:
            tracing.shutdown(0.0)
            logs.shutdown(0.0)
            raise
        _instrument_clients(settings)
        if settings.otlp_endpoint:
            _quiet_exporter_retries()
        set_current(settings)
        if not _atexit_registered:
            atexit.register(shutdown)
            _atexit_registered = True
        _flush_on_sigterm()
    return settings


def _flush_on_sigterm() -> None:
    """A process that SIGTERM stops with no handler of its own (Django's ``runserver``, a
    script, ``docker stop`` of either) runs no ``atexit``: the spans and log records of its last
    second would be lost. When SIGTERM still has its default action, tripod flushes first and
    then dies of SIGTERM as the process would have. A handler the app or its server installs
    (uvicorn, gunicorn, Celery) is left alone and wins when installed later."""
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: object) -> None:
    with contextlib.suppress(Exception):
        shutdown()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _quiet_exporter_retries() -> None:
    """The OTLP exporters log every retry; tripod's export queue reports an outage once (and
    its recovery), so theirs are silenced unless the user configured that logger."""
    exporter_log = logging.getLogger("opentelemetry.exporter.otlp")
    if exporter_log.level == logging.NOTSET:
        exporter_log.setLevel(logging.CRITICAL)


def _instrument_clients(settings: Settings) -> None:
    """Outgoing httpx/requests calls get a client span, the client duration histogram,
    traceparent and the correlation id (see tripod.sdk.integrations.httpclient); Celery tasks
    get spans and metrics. Each integration is configured when the app imports its library (now,
    if it already has), so an app that uses none of them never imports them."""
    only_requests = dataclasses.replace(settings, instrument_httpx=False)
    only_httpx = dataclasses.replace(settings, instrument_requests=False)
    _lazy.when_imported("requests", lambda _m: _configure_http_clients(only_requests))
    _lazy.when_imported("httpx", lambda _m: _configure_http_clients(only_httpx))
    _lazy.when_imported("celery", lambda _m: _configure_celery(settings))


def _configure_http_clients(settings: Settings) -> None:
    from tripod.sdk.integrations import httpclient

    httpclient.configure(settings)


def _configure_celery(settings: Settings) -> None:
    from tripod.sdk.integrations import celery

    celery.configure(settings)


def shutdown(timeout: float | None = None) -> None:
    """Flush and stop everything ``init()`` started, within ``shutdown_timeout`` seconds.

    Safe to call twice, before ``init()``, and from ``atexit``; never raises.
    """
    global _metrics_server
    with _lock:
        settings = current_settings()
        if timeout is None:
            timeout = settings.shutdown_timeout if settings is not None else 0.0
        deadline = time.monotonic() + timeout
        _lazy.reset()
        try:
            tracing.shutdown(max(0.0, deadline - time.monotonic()))
            logs.shutdown(max(0.0, deadline - time.monotonic()))
            if _metrics_server is not None:
                _metrics_server.close()
        except Exception:
            _log.debug("tripod: error during shutdown", exc_info=True)
        _metrics_server = None
        set_current(None)


def force_flush(timeout: float = 5.0) -> bool:
    """Export queued spans and log records now; True if all left within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    ok = tracing.force_flush(timeout)
    return logs.force_flush(max(0.0, deadline - time.monotonic())) and ok


def _is_asgi(app: Any) -> bool:
    if hasattr(app, "wsgi_app"):  # Flask and friends
        return False
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    return inspect.iscoroutinefunction(call)


def instrument(app: AppT) -> AppT:
    """Add tracing, RED metrics, access logs, correlation and ``/metrics`` to an ASGI/WSGI app.

    Starlette/FastAPI and Flask apps are instrumented in place and returned as they are (so
    ``app.get(...)`` still works); any other ASGI or WSGI callable is returned wrapped. Without
    ``init()``, or with the SDK disabled, ``app`` is returned untouched.
    """
    settings = current_settings()
    if settings is None or settings.sdk_disabled or getattr(app, "_tripod_instrumented", False):
        return app
    if _is_asgi(app):
        from tripod.sdk.integrations.asgi import instrument_asgi

        return instrument_asgi(app, settings)
    from tripod.sdk.integrations.wsgi import instrument_wsgi

    return instrument_wsgi(app, settings)
