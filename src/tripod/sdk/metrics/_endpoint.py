"""Serving a render function over HTTP: an ASGI app, a WSGI app and a standalone server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

from tripod.sdk.metrics._children import log_once, safe_repr

__all__ = ["MetricsServer", "make_asgi_app", "make_wsgi_app", "serve"]

Render = Callable[[str | None], tuple[bytes, str]]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]
StartResponse = Callable[..., Any]

_NOT_ALLOWED = b"405 method not allowed: /metrics answers GET and HEAD\n"


def _render(render: Render, accept: str | None) -> tuple[int, bytes, str]:
    """(status, body, content type): a failing scrape is a one-line 500, logged once."""
    try:
        body, content_type = render(accept)
    except Exception as exc:
        log_once("render", f"tripod: rendering /metrics failed: {safe_repr(exc)}")
        reason = f"500 tripod could not render metrics: {type(exc).__name__}\n"
        return 500, reason.encode(), "text/plain; charset=utf-8"
    return 200, body, content_type


def make_asgi_app(render: Render) -> AsgiApp:
    """An ASGI 3 app answering GET/HEAD with ``render(Accept)``; handles lifespan when mounted
    as the whole application."""

    async def asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if kind != "http":
            return
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await _asgi_send(send, 405, _NOT_ALLOWED, "text/plain; charset=utf-8", allow=True)
            return
        accept = None
        for key, value in scope.get("headers", ()):
            if key.lower() == b"accept":
                accept = value.decode("latin-1")
                break
        status, body, content_type = _render(render, accept)
        await _asgi_send(send, status, body, content_type, head=method == "HEAD")

    return asgi_app


async def _asgi_send(
    send: Send, status: int, body: bytes, content_type: str, *, head: bool = False,
    allow: bool = False,
) -> None:  # fmt: skip
    headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    if allow:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


def make_wsgi_app(render: Render) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """A WSGI app answering GET/HEAD with ``render(Accept)``."""

    def wsgi_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            start_response(
                "405 Method Not Allowed",
                [("Content-Type", "text/plain; charset=utf-8"), ("Allow", "GET, HEAD"),
                 ("Content-Length", str(len(_NOT_ALLOWED)))],
            )  # fmt: skip
            return [_NOT_ALLOWED]
        status, body, content_type = _render(render, environ.get("HTTP_ACCEPT"))
        start_response(
            "200 OK" if status == 200 else "500 Internal Server Error",
            [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        )
        return [b""] if method == "HEAD" else [body]

    return wsgi_app


def _make_server(host: str, port: int, app: Any) -> WSGIServer:
    """A threading WSGI server; ``wsgiref``/``http.server`` are imported only when a /metrics
    port is opened, never by ``import tripod``."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class _ThreadingServer(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        allow_reuse_address = True

    class _ThreadingServer6(_ThreadingServer):
        address_family = socket.AF_INET6

    class _QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes every few seconds would flood stderr; stay quiet."""

    server_class = _ThreadingServer6 if ":" in host else _ThreadingServer  # IPv6 literal
    return make_server(host, port, app, server_class, _QuietHandler)


class MetricsServer:
    """A /metrics server on its own thread. ``port`` is the bound port; ``close()`` stops it."""

    def __init__(self, server: WSGIServer) -> None:
        self._server = server
        self.port: int = server.server_address[1]
        self.host: str = str(server.server_address[0])
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2},
            name=f"tripod-metrics-{self.port}", daemon=True,
        )  # fmt: skip
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5.0)
        self._server.server_close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(render: Render, port: int, host: str) -> MetricsServer:
    """Serve ``/metrics`` (and ``/``) on ``host:port``; other paths get 404."""
    metrics = make_wsgi_app(render)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "/") in ("/", "/metrics"):
            return metrics(environ, start_response)
        body = b"404 not found: metrics are served at /metrics\n"
        start_response(
            "404 Not Found",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        msg = f"metrics port must be a whole number 0-65535 (0: any free port), got {port!r}"
        raise ValueError(msg)
    try:
        server = _make_server(host, port, app)
    except OSError as exc:
        msg = f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}; pick another port"
        raise OSError(exc.errno, msg) from None
    return MetricsServer(server)
