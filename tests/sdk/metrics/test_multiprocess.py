"""Multi-process metrics under a real gunicorn and uvicorn, with no directory given: tripod
finds the pre-fork server itself. One coherent /metrics from any worker, counters that never go
back when a worker is killed, files, disk and scrape time bounded under worker churn, and
per-worker process metrics labelled by pid."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.procs import Proc, children, free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]


def _gunicorn(tmp: Path, *extra: str, workers: int = 4, app: str = "wsgi") -> Proc:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", f"tests.sdk.metrics.mp_app.{app}:app",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--log-level", "warning", *extra]  # fmt: skip
    proc = Proc(argv, f"http://127.0.0.1:{port}", tmp / "gunicorn.log", env=_env(tmp))
    proc.wait_ready("/metrics")  # /metrics itself is not counted
    return proc


def _env(tmp: Path) -> dict[str, str]:
    """No TRIPOD_MULTIPROC_DIR: the server's private directory lands under ``tmp``."""
    return {"PYTHONPATH": str(ROOT), "TRIPOD_MULTIPROC_DIR": "", "TMPDIR": str(tmp),
            "OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}  # fmt: skip


def _mp_dir(tmp: Path, proc: Proc) -> Path:
    """The one directory tripod picked, named after the master's pid."""
    [path] = (tmp / f"tripod-multiproc-{os.getuid()}").iterdir()
    assert path.name.startswith(f"{proc.proc.pid}-")
    return path


def _disk(path: Path) -> int:
    return sum(f.stat().st_blocks * 512 for f in path.iterdir())


def _process_pids(proc: Proc) -> set[int]:
    body = httpx.get(proc.url + "/metrics", timeout=10).text
    return {
        int(s.labels["pid"])
        for family in text_string_to_metric_families(body)
        if family.name in ("process_resident_memory_bytes", "process_cpu_seconds")
        for s in family.samples
    }


def _count(proc: Proc) -> tuple[float, float]:
    """Requests counted on /metrics (summed over routes and statuses), and the scrape's time."""
    start = time.perf_counter()
    body = httpx.get(proc.url + "/metrics", timeout=10).text
    took = time.perf_counter() - start
    total = sum(
        s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name == "http_server_request_duration_seconds_count"
    )
    return total, took


def _send(proc: Proc, n: int, start: int = 0) -> None:
    with httpx.Client(timeout=10) as client:
        for i in range(start, start + n):
            assert client.get(f"{proc.url}/r{i % 3}").status_code == 200


def _send_until_every_worker_answered(proc: Proc, workers: int, timeout: float = 30.0) -> int:
    """Requests on new connections until ``workers`` different pids answered (one keep-alive
    connection, or a busy machine, can leave one worker with all of them); how many were sent."""
    pids: set[int] = set()
    sent = 0
    deadline = time.monotonic() + timeout
    while len(pids) < workers:
        assert time.monotonic() < deadline, f"only workers {pids} answered {sent} requests"
        response = httpx.get(f"{proc.url}/r{sent % 3}", timeout=10)
        assert response.status_code == 200
        pids.add(int(response.headers["x-pid"]))
        sent += 1
    return sent


def _workers(proc: Proc) -> list[int]:
    return children(proc.proc.pid)


def test_sum_across_workers_exact_and_survives_kill9(tmp_path: Path) -> None:
    with _gunicorn(tmp_path) as proc:
        mp = _mp_dir(tmp_path, proc)
        seen = []
        for batch in range(4):
            _send(proc, 10, 10 * batch)
            seen.append(_count(proc)[0])  # whichever worker answers sees all of them
        assert seen == [10, 20, 30, 40]
        workers = set(_workers(proc))
        _wait(lambda: _process_pids(proc) == workers)  # CPU and RSS of every worker, by pid
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        for batch in range(4, 6):
            _send(proc, 10, 10 * batch)
            seen.append(_count(proc)[0])
        assert seen == sorted(seen)  # never backwards
        assert seen[-1] == 60
        assert not (mp / f"w-{victim}.db").exists()  # folded into the archive
        _wait(lambda: victim not in _process_pids(proc) and len(_process_pids(proc)) == 4)


def _wait(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_churn_keeps_counts_exact_files_disk_and_scrape_time_flat(tmp_path: Path) -> None:
    """60 worker restarts (max_requests 1: one restart takes ~0.3-0.5 s of gunicorn's own time on
    the loaded CI machine); the 1,000-restart run is benchmarks/multiprocess.py."""
    with _gunicorn(tmp_path, "--max-requests", "1", "--preload", workers=2) as proc:
        mp = _mp_dir(tmp_path, proc)
        _send(proc, 5)
        first_count, first_took = _count(proc)
        first_disk = _disk(mp)
        assert first_count == 5
        _send(proc, 55, 5)
        count, took = _count(proc)
        assert count == 60
        assert (mp / "archive.db").exists()  # dead workers were folded
        files = list(mp.glob("*.db"))
        assert len(files) <= 2 + 1 + 2  # live workers, master, archive, a worker mid-restart
        assert _disk(mp) <= 2 * first_disk
        assert took <= 5 * first_took + 0.5


@pytest.mark.parametrize(
    ("app", "worker_class"), [("wsgi", "gthread"), ("asgi", "uvicorn.workers.UvicornWorker")]
)
def test_gunicorn_worker_classes_sum_exactly(tmp_path: Path, app: str, worker_class: str) -> None:
    with _gunicorn(tmp_path, "--worker-class", worker_class, workers=2, app=app) as proc:
        sent = _send_until_every_worker_answered(proc, 2)
        _send(proc, 20)
        for _ in range(3):
            assert _count(proc)[0] == sent + 20
        assert len(list(_mp_dir(tmp_path, proc).glob("w-*.db"))) == 2


def test_uvicorn_workers_sum_exactly(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "tests.sdk.metrics.mp_app.asgi:app",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
            "--log-level", "warning"]  # fmt: skip
    with Proc(
        argv, f"http://127.0.0.1:{port}", tmp_path / "uvicorn.log", env=_env(tmp_path)
    ) as proc:
        proc.wait_ready("/metrics")
        sent = _send_until_every_worker_answered(proc, 2)
        _send(proc, 30)
        for _ in range(4):
            assert _count(proc)[0] == sent + 30
        assert len(list(_mp_dir(tmp_path, proc).glob("w-*.db"))) == 2


def test_multiproc_dir_off_keeps_values_per_worker(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "tests.sdk.metrics.mp_app.wsgi:app",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"]  # fmt: skip
    env = {**_env(tmp_path), "TRIPOD_MULTIPROC_DIR": "off"}
    with Proc(argv, f"http://127.0.0.1:{port}", tmp_path / "off.log", env=env) as proc:
        proc.wait_ready("/metrics")
        assert not (tmp_path / f"tripod-multiproc-{os.getuid()}").exists()
