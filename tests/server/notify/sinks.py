"""Real peers for the notification tests: an HTTP sink, an SMTP sink, Debian's Alertmanager.

Each binds 127.0.0.1 on a free port and is stopped by the test that started it (context managers).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from starlette.applications import Starlette

from tests.helpers.procs import Proc, free_port
from tripod.server.notify.amconfig import NotifierConfig, parse_config


class HttpSink(ThreadingHTTPServer):
    """Records every POST (path, headers, raw body) and answers ``status``."""

    daemon_threads = True

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with sink.cond:
                    sink.posts.append((self.path, dict(self.headers.items()), body))
                    sink.cond.notify_all()
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = int(self.server_address[1])
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bodies(self) -> list[Any]:
        with self.cond:
            return [json.loads(body) for _, _, body in self.posts]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Any]:
        """Block until ``count`` posts arrived (a deadline, not a timing assertion)."""
        with self.cond:
            self.cond.wait_for(lambda: len(self.posts) >= count, timeout)
        return self.bodies()

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)

    def __enter__(self) -> HttpSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Collector:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        with self.cond:
            self.messages.append((envelope, message_from_bytes(raw)))
            self.cond.notify_all()
        return "250 OK"


class SmtpSink:
    """aiosmtpd on 127.0.0.1; with ``tls`` it offers STARTTLS and (with ``users``) AUTH."""

    def __init__(self, tls: Any = None, users: dict[str, str] | None = None) -> None:
        self.collector = _Collector()
        self.port = free_port()
        self.logins: list[str] = []
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if users is not None:

            def authenticate(
                server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
            ) -> AuthResult:
                ok = (
                    isinstance(data, LoginPassword)
                    and users.get(data.login.decode()) == data.password.decode()
                )
                if ok:
                    self.logins.append(data.login.decode())
                return AuthResult(success=ok)

            kwargs.update(authenticator=authenticate, auth_required=True)
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[tuple[Envelope, Message]]:
        with self.collector.cond:
            self.collector.cond.wait_for(lambda: len(self.collector.messages) >= count, timeout)
            return list(self.collector.messages)

    def close(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Served:
    """A Starlette app on a real uvicorn server in a thread, on a free loopback port."""

    def __init__(self, app: Starlette) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        poll(lambda: self.server.started)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def amtool_binary() -> str:
    path = shutil.which("amtool")
    if path is None:
        pytest.fail("Debian's prometheus-alertmanager is not installed: run `make setup`")
    return path


@contextlib.contextmanager
def alertmanager(workdir: Path, config_yaml: str) -> Iterator[Proc]:
    """A real Alertmanager 0.25 on 127.0.0.1 with clustering off and its own storage."""
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        pytest.fail("Debian's prometheus-alertmanager is not installed: run `make setup`")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(config_yaml)
    port = free_port()
    argv = [binary, f"--config.file={config}", f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
            f"--web.external-url=http://127.0.0.1:{port}", "--log.level=warn"]  # fmt: skip
    proc = Proc(argv, f"http://127.0.0.1:{port}", workdir / "alertmanager.log")
    try:
        proc.wait_ready("/-/ready", timeout=60.0)
        yield proc
    finally:
        proc.stop()


def poll(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Retry ``check`` until it returns something truthy; fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s: {check}")
        time.sleep(0.1)


def checked(config: Mapping[str, Any], workdir: Path) -> NotifierConfig:
    """``config`` parsed by the built-in notifier, after ``amtool check-config`` accepted it."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "checked-alertmanager.yml"
    path.write_text(yaml.safe_dump(dict(config)))
    done = subprocess.run([amtool_binary(), "check-config", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return parse_config(config)
