"""Health checks: ``@tripod.health_check("db")`` functions behind ``/healthz`` and ``/readyz``.

- ``/healthz`` is liveness: the process answers, so it is up; no check runs.
- ``/readyz`` is readiness: every registered check runs (concurrently) and must pass; 200 with
  per-check status and duration, else 503.

A check passes when it returns anything but ``False`` and raises nothing. Each has a timeout: a
hanging check is reported failing after it and never holds the request longer. Sync checks run
on a daemon thread, at most one run per check at a time (a probe that finds the previous run
still going waits on that run instead of starting another, so a hung check costs one thread,
not one per probe); async checks run on the app's event loop under ASGI, and on such a thread
under WSGI. Each run sets ``tripod_health_check_status{check}`` (1 pass, 0 fail) and
``tripod_health_check_duration_seconds{check}``. The middleware of ``tripod.instrument()``
serves both paths once at least one check is registered (so an app's own /healthz is left
alone otherwise).
"""

from __future__ import annotations

import concurrent.futures
import inspect
import json
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, TypeVar

from tripod import catalog
from tripod.sdk import metrics
from tripod.sdk._log_fields import redact_str

__all__ = [
    "HEALTH_PATH",
    "READY_PATH",
    "asgi_app",
    "clear_health_checks",
    "enabled",
    "health_check",
    "run_checks",
    "run_checks_async",
    "wsgi_app",
]

_log = logging.getLogger("tripod")

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_MAX_CHECKS = 100
_JSON = "application/json"

FuncT = TypeVar("FuncT", bound=Callable[..., Any])
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
StartResponse = Callable[..., Any]


class _Check:
    """One registered check and its in-flight run, if any."""

    def __init__(self, name: str, fn: Callable[[], Any], timeout: float) -> None:
        self.name = name
        self.fn = fn
        self.timeout = timeout
        self.is_async = inspect.iscoroutinefunction(fn)
        self._lock = threading.Lock()
        self._inflight: concurrent.futures.Future[Any] | None = None

    def on_thread(self) -> concurrent.futures.Future[Any]:
        """The running (or a newly started) run of this check on its own daemon thread."""
        with self._lock:
            future = self._inflight
            if future is None or future.done():
                future = concurrent.futures.Future()
                future.set_running_or_notify_cancel()  # a waiter timing out cannot cancel it
                self._inflight = future
                threading.Thread(
                    target=self._run, args=(future,), name=f"tripod-health-{self.name}",
                    daemon=True,
                ).start()  # fmt: skip
            return future

    def _run(self, future: concurrent.futures.Future[Any]) -> None:
        try:
            if self.is_async:
                import asyncio  # an async check: the app already uses asyncio

                result = asyncio.run(self.fn())
            else:
                result = self.fn()
        except BaseException as exc:  # reported as the check's failure
            future.set_exception(exc)
        else:
            future.set_result(result)


_checks: dict[str, _Check] = {}


def health_check(name: str, *, timeout: float = 2.0) -> Callable[[FuncT], FuncT]:
    """Register the decorated function (sync or async, no arguments) as readiness check
    ``name``; it fails if it raises, returns ``False`` or takes longer than ``timeout`` seconds.

    Registering a name again replaces the earlier check. The function is returned unchanged.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        msg = f"health check name must be 1-64 of [A-Za-z0-9_.:-], got {name!r}"
        raise ValueError(msg)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not timeout > 0:
        msg = f"health check {name!r}: timeout must be a number of seconds > 0, got {timeout!r}"
        raise ValueError(msg)

    def register(fn: FuncT) -> FuncT:
        if name not in _checks and len(_checks) >= _MAX_CHECKS:
            msg = f"health check {name!r}: at most {_MAX_CHECKS} checks can be registered"
            raise ValueError(msg)
        _checks[name] = _Check(name, fn, float(timeout))
        return fn

    return register


def clear_health_checks() -> None:
    """Forget every registered check (tests)."""
    _checks.clear()


def enabled() -> bool:
    """Whether any check is registered (the middleware then serves /healthz and /readyz)."""
    return bool(_checks)


def _result(check: _Check, started: float, value: Any, exc: BaseException | None) -> dict[str, Any]:
    duration = time.perf_counter() - started
    entry: dict[str, Any] = {"status": "pass", "duration_seconds": round(duration, 6)}
    if isinstance(exc, TimeoutError):
        entry["status"] = "fail"
        entry["error"] = f"timed out after {check.timeout:g}s"
    elif exc is not None:
        entry["status"] = "fail"
        entry["error"] = redact_str(f"{type(exc).__name__}: {exc}")[:200]
    elif value is False:
        entry["status"] = "fail"
        entry["error"] = "check returned False"
    _record(check.name, entry["status"] == "pass", duration)
    return entry


def _record(name: str, ok: bool, duration: float) -> None:
    try:
        s, d = catalog.HEALTH_CHECK_STATUS, catalog.HEALTH_CHECK_DURATION
        metrics.gauge(s.name, s.help, s.labels, s.unit).labels(name).set(1 if ok else 0)
        metrics.gauge(d.name, d.help, d.labels, d.unit).labels(name).set(duration)
    except Exception:  # the probe answers even if metrics are broken
        _log.debug("tripod: cannot record health check %r", name, exc_info=True)


def _report(results: dict[str, dict[str, Any]]) -> tuple[bool, dict[str, Any]]:
    ok = all(r["status"] == "pass" for r in results.values())
    return ok, {"status": "pass" if ok else "fail", "checks": results}


def run_checks() -> tuple[bool, dict[str, Any]]:
    """Run every check (from a thread, as WSGI does); (all passed, the /readyz JSON body)."""
    checks = list(_checks.values())
    started = time.perf_counter()
    futures = [(check, check.on_thread()) for check in checks]
    results: dict[str, dict[str, Any]] = {}
    for check, future in futures:
        remaining = check.timeout - (time.perf_counter() - started)
        try:
            value = future.result(timeout=max(0.0, remaining))
        except concurrent.futures.TimeoutError:
            results[check.name] = _result(check, started, None, TimeoutError())
        except Exception as exc:
            results[check.name] = _result(check, started, None, exc)
        else:
            results[check.name] = _result(check, started, value, None)
    return _report(results)


async def _run_one(check: _Check) -> dict[str, Any]:
    import asyncio  # imported by the running loop already

    started = time.perf_counter()
    try:
        if check.is_async:
            value = await asyncio.wait_for(check.fn(), check.timeout)
        else:
            value = await asyncio.wait_for(asyncio.wrap_future(check.on_thread()), check.timeout)
    except TimeoutError as exc:
        return _result(check, started, None, exc)
    except Exception as exc:
        return _result(check, started, None, exc)
    return _result(check, started, value, None)


async def run_checks_async() -> tuple[bool, dict[str, Any]]:
    """Run every check concurrently on the running loop; (all passed, the /readyz JSON body)."""
    import asyncio  # imported by the running loop already

    checks = list(_checks.values())
    entries = await asyncio.gather(*(_run_one(check) for check in checks))
    return _report(dict(zip((c.name for c in checks), entries, strict=True)))


def _not_allowed() -> tuple[int, bytes]:
    return 405, b'{"status":"fail","error":"405 method not allowed: use GET or HEAD"}'


def _body(ok: bool, report: dict[str, Any]) -> tuple[int, bytes]:
    return (200 if ok else 503), json.dumps(report, separators=(",", ":")).encode()


_LIVE = (200, b'{"status":"pass"}')


async def asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer ``/healthz`` or ``/readyz`` (by ``scope["path"]``) for an ASGI server."""
    method = scope.get("method", "GET")
    if method not in ("GET", "HEAD"):
        status, body = _not_allowed()
    elif scope.get("path") == READY_PATH:
        status, body = _body(*(await run_checks_async()))
    else:
        status, body = _LIVE
    headers = [
        (b"content-type", _JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


_REASONS = {200: "200 OK", 405: "405 Method Not Allowed", 503: "503 Service Unavailable"}


def wsgi_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Answer ``/healthz`` or ``/readyz`` (by ``PATH_INFO``) for a WSGI server."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method not in ("GET", "HEAD"):
        status, body = _not_allowed()
    elif environ.get("PATH_INFO") == READY_PATH:
        status, body = _body(*run_checks())
    else:
        status, body = _LIVE
    start_response(
        _REASONS[status],
        [
            ("Content-Type", _JSON),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [b"" if method == "HEAD" else body]
