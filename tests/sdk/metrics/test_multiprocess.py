"""Multi-process metrics under a real gunicorn: one coherent /metrics from any worker, exact
after a worker is killed, and files and scrape time bounded under worker churn."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.procs import Proc, free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]


def _gunicorn(tmp: Path, *extra: str, workers: int = 4) -> Proc:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "tests.sdk.metrics.mp_app.wsgi:app",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--log-level", "warning", *extra]  # fmt: skip
    env = {"PYTHONPATH": str(ROOT), "TRIPOD_MULTIPROC_DIR": str(tmp / "mp"),
           "OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}  # fmt: skip
    proc = Proc(argv, f"http://127.0.0.1:{port}", tmp / "gunicorn.log", env=env)
    proc.wait_ready("/metrics")  # /metrics itself is not counted
    return proc


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


def _workers(proc: Proc) -> list[int]:
    children = Path(f"/proc/{proc.proc.pid}/task/{proc.proc.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def test_sum_across_workers_exact_and_survives_kill9(tmp_path: Path) -> None:
    with _gunicorn(tmp_path) as proc:
        _send(proc, 40)
        for _ in range(4):  # whichever worker answers sees all of them
            assert _count(proc)[0] == 40
        victim = _workers(proc)[0]
        os.kill(victim, signal.SIGKILL)
        _send(proc, 20, 40)
        assert _count(proc)[0] == 60
        assert not (tmp_path / "mp" / f"w-{victim}.db").exists()  # folded into the archive
        body = httpx.get(proc.url + "/metrics", timeout=10).text
        assert 'process_resident_memory_bytes{pid="' in body


def test_churn_keeps_counts_exact_files_and_scrape_time_bounded(tmp_path: Path) -> None:
    with _gunicorn(tmp_path, "--max-requests", "1", "--preload", workers=2) as proc:
        _send(proc, 5)
        first_count, first_took = _count(proc)
        assert first_count == 5
        _send(proc, 195, 5)
        count, took = _count(proc)
        assert count == 200
        assert (tmp_path / "mp" / "archive.db").exists()  # dead workers were folded
        files = list((tmp_path / "mp").glob("*.db"))
        assert len(files) <= 2 + 1 + 2  # live workers, master, archive, a worker mid-restart
        assert took <= 5 * first_took + 0.5


def test_uvicorn_workers_sum_exactly(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "tests.sdk.metrics.mp_app.asgi:app",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
            "--log-level", "warning"]  # fmt: skip
    env = {"PYTHONPATH": str(ROOT), "TRIPOD_MULTIPROC_DIR": str(tmp_path / "mp"),
           "OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}  # fmt: skip
    with Proc(argv, f"http://127.0.0.1:{port}", tmp_path / "uvicorn.log", env=env) as proc:
        proc.wait_ready("/metrics")
        _send(proc, 30)
        for _ in range(4):
            assert _count(proc)[0] == 30
        assert len(list((tmp_path / "mp").glob("w-*.db"))) >= 1
