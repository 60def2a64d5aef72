"""Process plumbing of ``make demo``: start children, wait for them, and stop every one of them
on Ctrl-C, SIGTERM or a closed terminal (SIGHUP).

Each child runs in its own session (so a Ctrl-C in the terminal reaches only ``demo.py``, which
then stops the children in order) and is stopped through its process group, which also reaches
anything the child started itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import FrameType

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Children:
    """The processes the demo started; :meth:`stop_all` stops them newest first."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, argv: list[str], log: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                cwd=ROOT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)


def wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return True
        time.sleep(0.1)
    return False


def wait_port(proc: subprocess.Popen[bytes], port: int, timeout: float = 15.0) -> bool:
    """True once something listens on 127.0.0.1:``port`` (Redis speaks no HTTP)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.1)
    return False


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM to the child's process group, SIGKILL after 10 s."""
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # Later signals are ignored so the clean-up in ``finally`` runs to its end.
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP (terminal closed) end the demo as Ctrl-C does: via ``finally``."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def say(text: str) -> None:
    """print, but a terminal that went away (SIGHUP) does not stop the clean-up."""
    with contextlib.suppress(OSError):
        print(text, flush=True)
