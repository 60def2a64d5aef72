"""WSGI middleware: one server span, RED metrics, access log, correlation, ``/metrics``.

The route template is read from ``environ["tripod.route"]``. For Flask, ``instrument()`` adds a
first ``before_request`` hook that puts ``request.url_rule.rule`` there (Flask has matched the
URL by then; a 404 has no rule and is labelled ``__unmatched__``; Flask clears
``environ["werkzeug.request"]`` when the request ends, so the rule cannot be read afterwards).
Other WSGI frameworks can set the key themselves. The span and metrics end when
the server closes the response iterable, so streamed bodies are timed and sized; the app's
exceptions propagate unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar

from tripod.config import Settings
from tripod.sdk import health, metrics
from tripod.sdk.integrations._http import Recorder, RequestState

__all__ = ["ERROR_KEY", "ROUTE_KEY", "TripodWSGIMiddleware", "instrument_wsgi"]

_HEALTH_PATHS = frozenset((health.HEALTH_PATH, health.READY_PATH))
ROUTE_KEY = "tripod.route"
ERROR_KEY = "tripod.error"
_HOSTS_MAX = 1_000  # distinct Host headers whose parsed attributes are kept
Environ = dict[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
AppT = TypeVar("AppT")


class _Exchange:
    """One request's bookkeeping: the ``start_response`` the app gets, then the response iterable
    the server gets (counting bytes; the request is finished on ``close()`` or exhaustion).

    One object per request instead of closures and cells (fewer allocations on the hot path).
    """

    __slots__ = (
        "_corr_header",
        "_environ",
        "_inner",
        "_recorder",
        "_request_size",
        "_start_response",
        "_state",
        "size",
        "status",
    )

    def __init__(  # noqa: PLR0917 (built in one place; positional for speed)
        self,
        recorder: Recorder,
        state: RequestState,
        environ: Environ,
        start_response: StartResponse,
        corr_header: tuple[str, str],
        request_size: int | None,
    ) -> None:
        self._recorder = recorder
        self._state = state
        self._environ = environ
        self._start_response = start_response
        self._corr_header = corr_header
        self._request_size = request_size
        self._inner: Iterable[bytes] = ()
        self.status = 500
        self.size = 0

    def start_response(
        self, status_line: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], object]:
        try:
            self.status = int(status_line[:3])
        except ValueError:
            self.status = 500
        headers = [*headers, self._corr_header]  # a copy: the app may reuse its list
        if exc_info is None:
            return self._start_response(status_line, headers)
        return self._start_response(status_line, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            self.size += len(chunk)
            yield chunk
        # Finish as soon as the body is exhausted (a server that forgets close() must not
        # leave the span open); close() then finds it finished.
        self.finish()

    def close(self) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        finally:
            self.finish()

    def finish(self) -> None:
        environ = self._environ
        self._recorder.finish(
            self._state,
            route=environ.get(ROUTE_KEY),
            status=self.status,
            request_size=self._request_size,
            response_size=self.size,
            exc=environ.get(ERROR_KEY),
        )


class TripodWSGIMiddleware:
    """Wraps a WSGI app; see the module docstring."""

    def __init__(self, app: WSGIApp, settings: Settings) -> None:
        self.app = app
        self.recorder = Recorder(settings)
        self._metrics_path = settings.metrics_path
        self._corr_env = "HTTP_" + settings.correlation_header.upper().replace("-", "_")
        self._corr_header = settings.correlation_header
        self._hosts: dict[str, dict[str, Any]] = {}  # Host header -> its span attributes

    def _host_template(self, host: str) -> dict[str, Any]:
        """``server.address``/``server.port`` of a Host header, parsed once per distinct value."""
        name, _, port = host.rpartition(":")
        if name and port.isdigit():
            template: dict[str, Any] = {"server.address": name, "server.port": int(port)}
        else:
            template = {"server.address": host}
        if len(self._hosts) < _HOSTS_MAX:
            self._hosts[host] = template
        return template

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path == self._metrics_path:
            return metrics.wsgi_app(environ, start_response)
        if path in _HEALTH_PATHS and health.enabled():
            return health.wsgi_app(environ, start_response)
        rec = self.recorder
        get = environ.get
        carrier: dict[str, str] | None = None
        traceparent = get("HTTP_TRACEPARENT")
        tracestate = get("HTTP_TRACESTATE")
        bag = get("HTTP_BAGGAGE")
        if traceparent or tracestate or bag:
            carrier = {}
            if traceparent:
                carrier["traceparent"] = traceparent
            if tracestate:
                carrier["tracestate"] = tracestate
            if bag:
                carrier["baggage"] = bag
        host = get("HTTP_HOST") or get("SERVER_NAME")
        if host:
            template = self._hosts.get(host)
            if template is None:
                template = self._host_template(host)
            attrs: dict[str, Any] = template.copy()
        else:
            attrs = {}
        value = get("REMOTE_ADDR")
        if value:
            attrs["client.address"] = value
        value = get("HTTP_USER_AGENT")
        if value:
            attrs["user_agent.original"] = value
        protocol = get("SERVER_PROTOCOL", "")
        if protocol.startswith("HTTP/"):
            attrs["network.protocol.version"] = protocol[5:]
        length = environ.get("CONTENT_LENGTH")
        request_size = int(length) if length and length.isdigit() else None
        state = rec.start(
            environ.get("REQUEST_METHOD", "GET"),
            path=path,
            scheme=environ.get("wsgi.url_scheme", "http"),
            carrier=carrier,
            correlation_id=environ.get(self._corr_env) or environ.get("HTTP_X_REQUEST_ID"),
            attrs=attrs,
        )
        exchange = _Exchange(
            rec,
            state,
            environ,
            start_response,
            (self._corr_header, state.correlation_id),
            request_size,
        )
        try:
            exchange._inner = self.app(environ, exchange.start_response)
        except BaseException as exc:
            rec.detach(state)
            rec.finish(
                state,
                route=environ.get(ROUTE_KEY),
                status=500,
                request_size=request_size,
                response_size=None,
                exc=exc,
            )
            raise
        finally:
            if not state.finished:
                rec.detach(state)
        return exchange


def _flask_hooks(app: Any) -> None:
    """Put Flask's matched ``url_rule.rule`` into the environ before any other hook runs, and
    the exception Flask turned into a 500 (it never reaches a WSGI middleware).

    The hook reads the request from Flask's context variable (one lookup) rather than through
    the ``flask.request`` proxy (a lookup per attribute): ≈ 0.9 µs per request instead of ≈ 5.
    """
    from flask import got_request_exception
    from flask.globals import _cv_request  # Flask >= 2.2 (tripod needs >= 3.0)

    current = _cv_request.get

    def tripod_route() -> None:
        req = current().request
        rule = req.url_rule
        if rule is not None:
            req.environ[ROUTE_KEY] = rule.rule

    def tripod_exception(sender: Any, exception: BaseException, **extra: Any) -> None:
        current().request.environ[ERROR_KEY] = exception

    app.before_request_funcs.setdefault(None, []).insert(0, tripod_route)
    got_request_exception.connect(tripod_exception, app, weak=False)


def instrument_wsgi(app: AppT, settings: Settings) -> AppT:
    """Instrument a Flask app in place (its ``wsgi_app``), or wrap any other WSGI callable."""
    if hasattr(app, "wsgi_app") and hasattr(app, "before_request_funcs"):
        _flask_hooks(app)
        app.wsgi_app = TripodWSGIMiddleware(app.wsgi_app, settings)
        app._tripod_instrumented = True  # type: ignore[attr-defined]
        return app
    wrapped = TripodWSGIMiddleware(app, settings)  # type: ignore[arg-type]
    wrapped._tripod_instrumented = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]
