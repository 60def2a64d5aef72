"""Start and stop the real servers tests talk to: `tripod serve` and Debian's Prometheus.

Everything binds 127.0.0.1 on a free port; every handle stops what it started (use as a context
manager or call ``stop()``), killing the whole process group if a polite stop does not work.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    """Live child pids of ``pid``, whichever of its threads forked them.

    ``/proc/PID/task/PID/children`` lists only the main thread's children; pools that fork
    replacements from a supervisor thread (billiard's, for Celery's prefork pool) would be missed.
    """
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            found.update(int(c) for c in (task / "children").read_text().split())
    return sorted(found)


class Proc:
    """A child process serving HTTP on ``url``; stops it (and its group) on ``stop()``."""

    def __init__(self, argv: Sequence[str], url: str, log: Path, env: dict[str, str] | None = None):
        self.argv = list(argv)
        self.url = url
        self.log_path = log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )

    def wait_ready(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                msg = f"{self.argv[0]} exited {self.proc.returncode}:\n{self.log()}"
                raise RuntimeError(msg)
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=1.0).status_code == 200:
                    return
            time.sleep(0.05)
        self.stop()
        msg = f"{self.argv} not ready at {self.url}{path} after {timeout}s:\n{self.log()}"
        raise RuntimeError(msg)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill9(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        self._log.close()

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_tripod_serve(
    data_dir: Path, *args: str, port: int | None = None, ready_timeout: float = 30.0
) -> Proc:
    """A real `tripod serve` on 127.0.0.1, ready (``/-/ready`` answers 200) when returned."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "tripod", "serve", "--data-dir", str(data_dir),
            "--host", "127.0.0.1", "--port", str(port), *args]  # fmt: skip
    proc = Proc(argv, f"http://127.0.0.1:{port}", data_dir.parent / f"serve-{port}.log")
    proc.wait_ready("/-/ready", timeout=ready_timeout)
    return proc


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        pytest.fail("Debian's prometheus is not installed: run `make test`, which installs it")
    return path


def start_prometheus(
    workdir: Path, config_yaml: str, *flags: str, storage: Path | None = None
) -> Proc:
    """A real Prometheus 2.x on 127.0.0.1 with ``config_yaml``, ready when returned."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(config_yaml)
    storage = storage or workdir / "tsdb"
    argv = [prometheus_binary(), f"--config.file={config}", f"--storage.tsdb.path={storage}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn", *flags]  # fmt: skip
    proc = Proc(argv, f"http://127.0.0.1:{port}", workdir / "prometheus.log")
    proc.wait_ready("/-/ready", timeout=60.0)
    return proc


@contextlib.contextmanager
def running(proc: Proc) -> Iterator[Proc]:
    try:
        yield proc
    finally:
        proc.stop()
