"""Celery end to end: a Starlette app under uvicorn enqueues tasks on a real redis-server, a real
prefork worker (concurrency 1, one task per child) runs them and exports OTLP to a receiver.

One trace goes from the HTTP request through the publish to the task run; the worker's log lines
carry its trace and correlation ids; no span is lost while every task runs in a new child.
The helpers here (redis-server, worker, producer) are shared with ``test_celery_metrics.py``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.otlp_receiver import OtlpReceiver
from tests.helpers.procs import Proc, free_port
from tripod.sdk.logs import iter_json_lines

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]


def _pong(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False


@contextlib.contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """A throwaway redis-server (no persistence) on a free loopback port; yields its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (make setup installs it)")
    port = free_port()
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(tmp)]  # fmt: skip
    log = (tmp / "redis.log").open("ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while not _pong(port):
            if proc.poll() is not None:
                msg = f"redis-server exited {proc.returncode}: {(tmp / 'redis.log').read_text()}"
                raise RuntimeError(msg)
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def worker_env(broker: str, otlp: str, **extra: str) -> dict[str, str]:
    return {
        "PYTHONPATH": str(ROOT),
        "CELERY_BROKER_URL": broker,
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp,
        "TRIPOD_SHUTDOWN_TIMEOUT": "2",
        **extra,
    }


def start_worker(log: Path, env: dict[str, str], *options: str) -> Proc:
    """``celery -A examples.celery_app.tasks worker`` with ``options``, once it says it is ready."""
    argv = [sys.executable, "-m", "celery", "-A", "examples.celery_app.tasks", "worker",
            "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
            *options]  # fmt: skip
    proc = Proc(argv, "", log, env={"OTEL_SERVICE_NAME": "celery-worker", **env})
    deadline = time.monotonic() + 30
    while " ready." not in proc.log():
        if proc.proc.poll() is not None or time.monotonic() > deadline:
            proc.stop()
            msg = f"celery worker did not start:\n{proc.log()}"
            raise RuntimeError(msg)
        time.sleep(0.1)
    return proc


def run_producer(env: dict[str, str], code: str) -> str:
    """Run ``code`` in a fresh Python with ``env`` (a plain producer process); its output."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def json_lines(proc: Proc, **match: Any) -> list[dict[str, Any]]:
    text = proc.log_path.read_text(errors="replace")
    return [
        line for line in iter_json_lines(text) if all(line.get(k) == v for k, v in match.items())
    ]


def spans_named(receiver: OtlpReceiver, name: str, **attributes: Any) -> list[dict[str, Any]]:
    return [
        s
        for s in receiver.spans
        if s["name"] == name and all(s["attributes"].get(k) == v for k, v in attributes.items())
    ]


PRODUCER, CONSUMER = 4, 5  # opentelemetry.proto.trace.v1.Span.SpanKind


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as server:
        yield server


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url + "/0"


@pytest.fixture(scope="module")
def worker(
    tmp_path_factory: pytest.TempPathFactory, broker: str, receiver: OtlpReceiver
) -> Iterator[Proc]:
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    # Task metrics of the prefork children, summed on the main process's /metrics through the
    # multi-process directory (counts of recycled children are kept).
    multiproc, port = tmp_path_factory.mktemp("multiproc"), free_port()
    env = worker_env(broker, receiver.url, TRIPOD_MULTIPROC_DIR=str(multiproc),
                     TRIPOD_METRICS_PORT=str(port))  # fmt: skip
    proc = start_worker(log, env, "--pool", "prefork", "--concurrency", "1",
                        "--max-tasks-per-child", "1")  # fmt: skip
    proc.url = f"http://127.0.0.1:{port}"
    with proc:
        yield proc


@pytest.fixture(scope="module")
def web(
    tmp_path_factory: pytest.TempPathFactory, broker: str, receiver: OtlpReceiver
) -> Iterator[Proc]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "examples.celery_app.web:app", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning"]  # fmt: skip
    env = worker_env(broker, receiver.url, OTEL_SERVICE_NAME="celery-web")
    log = tmp_path_factory.mktemp("web") / "web.log"
    with Proc(argv, f"http://127.0.0.1:{port}", log, env=env) as proc:
        proc.wait_ready("/health")
        yield proc


def test_one_trace_from_http_request_through_publish_to_task(
    web: Proc, worker: Proc, receiver: OtlpReceiver
) -> None:
    response = httpx.post(web.url + "/enqueue/add", headers={"X-Correlation-ID": "celery-corr-1"})
    assert response.status_code == 200
    task_id = response.json()["task_id"]
    receiver.wait_for(
        lambda r: (
            bool(spans_named(r, "celery_app.add process", **{"messaging.message.id": task_id}))
            and bool(spans_named(r, "publish celery_app.add", **{"messaging.message.id": task_id}))
            and any(s["attributes"].get("url.path") == "/enqueue/add" for s in r.spans)
            and bool(spans_named(r, "sum numbers"))
        )
    )
    [server] = [s for s in receiver.spans if s["attributes"].get("url.path") == "/enqueue/add"]
    [publish] = spans_named(receiver, "publish celery_app.add", **{"messaging.message.id": task_id})
    [process] = spans_named(receiver, "celery_app.add process", **{"messaging.message.id": task_id})
    [child] = [
        s for s in spans_named(receiver, "sum numbers") if s["trace_id"] == server["trace_id"]
    ]

    assert server["resource"]["service.name"] == "celery-web"
    assert publish["kind"] == PRODUCER
    assert publish["resource"]["service.name"] == "celery-web"
    assert publish["trace_id"] == server["trace_id"]
    assert publish["parent_span_id"] == server["span_id"]
    assert publish["attributes"]["messaging.system"] == "celery"
    assert process["kind"] == CONSUMER
    assert process["resource"]["service.name"] == "celery-worker"
    assert process["trace_id"] == server["trace_id"]
    assert process["parent_span_id"] == publish["span_id"]
    assert process["attributes"]["messaging.system"] == "celery"
    assert process["attributes"]["celery.task.name"] == "celery_app.add"
    assert process["attributes"]["celery.task.outcome"] == "success"
    assert process["attributes"]["celery.task.retries"] == 0
    assert child["parent_span_id"] == process["span_id"]

    [line] = json_lines(worker, message="added", correlation_id="celery-corr-1")
    assert line["trace_id"] == server["trace_id"]
    assert line["span_id"] == child["span_id"]
    assert line["total"] == 5
    receiver.wait_for(
        lambda r: any(
            rec["body"] == "added" and rec["trace_id"] == server["trace_id"] for rec in r.logs
        )
    )


def test_no_span_lost_when_every_task_runs_in_a_new_child(
    web: Proc, worker: Proc, receiver: OtlpReceiver
) -> None:
    ids = []
    for n in range(5):
        response = httpx.post(
            web.url + "/enqueue/add", headers={"X-Correlation-ID": f"recycle-{n}"}
        )
        ids.append(response.json()["task_id"])

    def all_processed(r: OtlpReceiver) -> bool:
        done = {
            s["attributes"].get("messaging.message.id")
            for s in spans_named(r, "celery_app.add process")
        }
        return done >= set(ids)

    receiver.wait_for(all_processed, timeout=30)
    traces = {
        s["trace_id"] for s in spans_named(receiver, "celery_app.add process")
        if s["attributes"]["messaging.message.id"] in ids
    }  # fmt: skip
    assert len(traces) == 5
    # Each task's own child span and log record also left its (short-lived) process.
    receiver.wait_for(
        lambda r: (
            traces <= {s["trace_id"] for s in spans_named(r, "sum numbers")}
            and traces <= {rec["trace_id"] for rec in r.logs if rec["body"] == "added"}
        )
    )
    lines = [
        json_lines(worker, message="added", correlation_id=f"recycle-{n}")[0] for n in range(5)
    ]
    pids = {line["worker_pid"] for line in lines}
    assert len(pids) == 5, "worker_max_tasks_per_child=1 should run each task in a new child"
    # Each child exported with its own resource (rebuilt on worker_process_init), not the parent's.
    runs = {s["trace_id"]: s for s in spans_named(receiver, "celery_app.add process")}
    assert {runs[line["trace_id"]]["resource"]["process.pid"] for line in lines} == pids

    # Every add run of this worker is counted on the main process's /metrics, although each ran
    # in a child that has exited since.
    text = httpx.get(worker.url + "/metrics").text
    counts = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    ran = len(spans_named(receiver, "celery_app.add process"))
    assert ran >= 5
    runs_key = (("outcome", "success"), ("task", "celery_app.add"))
    assert counts[("celery_task_duration_seconds_count", runs_key)] == ran
    assert counts[("celery_task_queue_wait_seconds_count", (("task", "celery_app.add"),))] == ran
