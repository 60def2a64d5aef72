"""POST encoded OTLP bodies over one kept-alive HTTP connection (export thread only).

``http.client`` is imported on the first send, on the export thread, so it is never on the
import path of ``tripod.init()``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any
from urllib.parse import urlsplit

__all__ = ["OtlpHttpSender"]

_log = logging.getLogger("tripod.export")


class OtlpHttpSender:
    """Sends request bodies to one OTLP/HTTP URL; True when the receiver answered 2xx."""

    def __init__(
        self, url: str, headers: dict[str, str], timeout: float, *, compression: str = ""
    ) -> None:
        self.url = url
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {
            "Content-Type": "application/x-protobuf",
            "User-Agent": "tripod",
            **headers,
        }
        self._gzip = compression == "gzip"
        if self._gzip:
            self._headers["Content-Encoding"] = "gzip"
        self._timeout = timeout
        self._conn: Any = None
        self._pid = os.getpid()
        self.closed = False

    def _connect(self) -> Any:
        import http.client

        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def send(self, body: bytes) -> bool:
        """POST ``body``; one retry on a connection the server had closed (keep-alive)."""
        if self.closed:
            return False
        if self._pid != os.getpid():  # a forked child must not share the parent's socket
            self._conn, self._pid = None, os.getpid()
        if self._gzip:
            import gzip

            body = gzip.compress(body, compresslevel=1)
        for attempt in (0, 1):
            conn = self._conn
            if conn is None:
                conn = self._conn = self._connect()
            try:
                conn.request("POST", self._path, body, self._headers)
                response = conn.getresponse()
                response.read()
                if response.will_close:
                    self._drop()
            except (OSError, ValueError) as exc:  # reset, refused, timeout, bad status line
                self._drop()
                if attempt == 0 and not self.closed:
                    continue
                _log.debug("tripod: OTLP export to %s failed: %r", self.url, exc)
                return False
            if 200 <= response.status < 300:
                return True
            _log.debug("tripod: OTLP export to %s answered %s", self.url, response.status)
            return False
        return False

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken socket
                conn.close()

    def shutdown(self) -> None:
        """Stop sending: an export in progress fails at its next step."""
        self.closed = True
        self._drop()
