"""The whole stack from real parts: the example Django shop under gunicorn with 4 workers sends a
Celery task through a real redis-server to a prefork worker (one task per child) that updates
the order through the Django ORM (SQLite); both export to a real ``tripod serve``.

Each request is one trace across the three processes (server span -> publish -> task -> DB
query), the correlation id rides along into the worker's log lines, and after ``kill -9`` of a
gunicorn worker and of a Celery child the request and task counts are still exact and no
task's spans are missing (children recycled by ``max-tasks-per-child 1`` flush before exiting).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.procs import Proc, children, free_port, start_tripod_serve
from tests.sdk.integrations.test_celery import redis_server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
ROUTE = "/orders/<int:order_id>/confirm"
TASK = "shop.confirm_order"


@dataclass
class Stack:
    serve: Proc
    web: Proc
    worker: Proc
    worker_metrics: str


def _wait(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    with redis_server(tmp) as broker:
        serve = start_tripod_serve(tmp / "serve")
        common = {
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "examples.django_shop.settings",
            "DJANGO_SHOP_DB": str(tmp / "shop.sqlite3"),
            "CELERY_BROKER_URL": f"{broker}/0",
            "OTEL_EXPORTER_OTLP_ENDPOINT": serve.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "TRIPOD_SHUTDOWN_TIMEOUT": "2",
            "TRIPOD_MULTIPROC_DIR": "",  # gunicorn: found automatically
            "TMPDIR": str(tmp),
        }
        migrate = [sys.executable, "-m", "django", "migrate", "--run-syncdb", "--verbosity", "0"]
        done = subprocess.run(
            migrate, env={**os.environ, **common, "OTEL_EXPORTER_OTLP_ENDPOINT": ""},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        port, metrics_port = free_port(), free_port()
        web_argv = [sys.executable, "-m", "gunicorn", "examples.django_shop.wsgi:application",
                    "--bind", f"127.0.0.1:{port}", "--workers", "4",
                    "--log-level", "warning"]  # fmt: skip
        worker_argv = [sys.executable, "-m", "celery", "-A", "examples.django_shop.shop.celery_app",
                       "worker", "--pool", "prefork", "--concurrency", "2",
                       "--max-tasks-per-child", "1", "--loglevel", "INFO", "--without-heartbeat",
                       "--without-gossip", "--without-mingle"]  # fmt: skip
        worker_env = {**common, "OTEL_SERVICE_NAME": "shop-worker",
                      "TRIPOD_MULTIPROC_DIR": str(tmp / "celery-mp"),
                      "TRIPOD_METRICS_PORT": str(metrics_port)}  # fmt: skip
        web = Proc(web_argv, f"http://127.0.0.1:{port}", tmp / "web.log",
                   env={**common, "OTEL_SERVICE_NAME": "shop-web"})  # fmt: skip
        worker = Proc(worker_argv, "", tmp / "worker.log", env=worker_env)
        try:
            web.wait_ready("/health")
            _wait(lambda: " ready." in worker.log(), "the celery worker")
            yield Stack(serve, web, worker, f"http://127.0.0.1:{metrics_port}/metrics")
        finally:
            worker.stop()
            web.stop()
            serve.stop()


def _trace(serve: Proc, trace_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{serve.url}/api/v1/traces/{trace_id}", timeout=10)
    return list(response.json()["data"]["spans"]) if response.status_code == 200 else []


def _complete(spans: list[dict[str, Any]]) -> bool:
    names = {s["name"] for s in spans}
    return {f"POST {ROUTE}", f"publish {TASK}", f"{TASK} process"} <= names and any(
        s["name"].startswith("UPDATE") for s in spans
    )


def _count(url: str, name: str, **labels: str) -> float:
    text = httpx.get(url, timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def _send(stack: Stack, ids: range) -> dict[int, str]:
    """POST a confirmation per id with our own trace id and correlation id; id -> trace id."""
    traces = {}
    for i in ids:
        trace_id = f"{i + 1:032x}"
        headers = {
            "traceparent": f"00-{trace_id}-{i + 1:016x}-01",
            "X-Correlation-ID": f"combo-{i}",
        }
        response = httpx.post(f"{stack.web.url}/orders/{i}/confirm", headers=headers, timeout=10)
        assert response.status_code == 202, response.text
        traces[i] = trace_id
    return traces


def test_one_trace_request_task_query_and_nothing_lost_after_kill9(stack: Stack) -> None:
    traces = _send(stack, range(1, 7))
    _wait(lambda: all(_complete(_trace(stack.serve, t)) for t in traces.values()), "traces")

    web_worker = children(stack.web.proc.pid)[0]
    os.kill(web_worker, signal.SIGKILL)  # idle: its spans were exported already
    # With --max-tasks-per-child 1 every child that ran a task exits and the pool forks a new
    # one (from its supervisor thread): wait until a replacement is up, then kill it idle.
    _wait(lambda: bool(children(stack.worker.proc.pid)), "a celery pool child")
    celery_child = children(stack.worker.proc.pid)[0]
    os.kill(celery_child, signal.SIGKILL)  # an idle child; celery forks a new one
    traces.update(_send(stack, range(7, 13)))
    _wait(lambda: all(_complete(_trace(stack.serve, t)) for t in traces.values()), "traces")

    for i, trace_id in traces.items():
        spans = {s["name"]: s for s in _trace(stack.serve, trace_id)}
        server, publish = spans[f"POST {ROUTE}"], spans[f"publish {TASK}"]
        run = spans[f"{TASK} process"]
        query = next(s for name, s in spans.items() if name.startswith("UPDATE"))
        assert server["parent_span_id"] == f"{i + 1:016x}"
        assert publish["parent_span_id"] == server["span_id"]
        assert run["parent_span_id"] == publish["span_id"]
        assert query["parent_span_id"] == run["span_id"]
        assert server["service"] == publish["service"] == "shop-web"
        assert run["service"] == query["service"] == "shop-worker"
        assert query["attributes"]["db.system"] == "sqlite"
        assert "buyer" not in query["attributes"]["db.query.text"]  # sanitised
        logs = httpx.get(f"{stack.serve.url}/api/v1/logs", params={"trace_id": trace_id}).json()
        by_service: dict[str, list[dict[str, Any]]] = {}
        for line in logs["data"]["logs"]:
            by_service.setdefault(line["service"], []).append(line)
        assert set(by_service) == {"shop-web", "shop-worker"}, logs
        for lines in by_service.values():
            assert any(line["attributes"].get("correlation_id") == f"combo-{i}" for line in lines)

    route = {"http_route": ROUTE, "http_response_status_code": "202"}
    name = "http_server_request_duration_seconds_count"
    assert _count(stack.web.url + "/metrics", name, **route) == 12  # exact across kill -9
    task_runs = {"task": TASK, "outcome": "success"}
    _wait(
        lambda: (
            _count(stack.worker_metrics, "celery_task_duration_seconds_count", **task_runs) == 12
        ),
        "celery task counts over recycled children",
    )
