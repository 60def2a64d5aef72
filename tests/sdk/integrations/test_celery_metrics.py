"""Celery task metrics and outcomes, read from a real worker's ``/metrics`` (solo pool: the task
runs in the process that serves ``metrics_port``), with a plain producer process sending tasks
through a real redis-server: retries are counted, a failing task is ``outcome="failure"`` with an
ERROR span, and the queue wait is measured from the publish time the producer put in the headers.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.otlp_receiver import OtlpReceiver
from tests.helpers.procs import Proc, free_port
from tests.sdk.integrations.test_celery import (
    CONSUMER,
    PRODUCER,
    redis_server,
    run_producer,
    spans_named,
    start_worker,
    worker_env,
)

pytestmark = pytest.mark.e2e
STATUS_ERROR = 2

PRODUCE = """
from examples.celery_app.tasks import boom, flaky
print(flaky.delay("retry-me").id, boom.delay().id)
"""


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as server:
        yield server


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory, receiver: OtlpReceiver
) -> Iterator[tuple[Proc, dict[str, str], int]]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        port = free_port()
        env = worker_env(url + "/0", receiver.url)
        log = tmp_path_factory.mktemp("worker") / "worker.log"
        proc = start_worker(log, {**env, "TRIPOD_METRICS_PORT": str(port)}, "--pool", "solo")
        with proc:
            yield proc, env, port


def samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("celery_")
    }


def test_retries_failures_and_queue_wait(
    setup: tuple[Proc, dict[str, str], int], receiver: OtlpReceiver
) -> None:
    _worker, env, port = setup
    flaky_id, boom_id = run_producer({**env, "OTEL_SERVICE_NAME": "producer"}, PRODUCE).split()

    def count(task: str, outcome: str) -> float:
        key = (
            "celery_task_duration_seconds_count",
            (("outcome", outcome), ("task", task)),
        )
        return samples(port).get(key, 0.0)

    receiver.wait_for(
        lambda r: (
            count("celery_app.flaky", "success") == 1 and count("celery_app.boom", "failure") == 1
        )
    )
    got = samples(port)
    assert count("celery_app.flaky", "retry") == 1
    assert got[("celery_task_retries_total", (("task", "celery_app.flaky"),))] == 1
    assert ("celery_task_retries_total", (("task", "celery_app.boom"),)) not in got
    assert count("celery_app.boom", "success") == 0
    # Two runs of flaky (the first and its retry) and one of boom waited in the queue.
    wait = "celery_task_queue_wait_seconds_count"
    assert got[(wait, (("task", "celery_app.flaky"),))] == 2
    assert got[(wait, (("task", "celery_app.boom"),))] == 1

    receiver.wait_for(
        lambda r: (
            len(spans_named(r, "celery_app.flaky process")) == 2
            and len(spans_named(r, "celery_app.boom process")) == 1
        )
    )
    [failed] = spans_named(receiver, "celery_app.boom process")
    assert failed["attributes"]["messaging.message.id"] == boom_id
    assert failed["status_code"] == STATUS_ERROR
    assert failed["attributes"]["error.type"] == "RuntimeError"
    assert failed["attributes"]["celery.task.outcome"] == "failure"
    assert "exception" in failed["events"]

    # The retry is published from inside the first run and continues its trace.
    first, second = sorted(
        spans_named(receiver, "celery_app.flaky process"),
        key=lambda s: s["attributes"]["celery.task.retries"],
    )
    assert first["attributes"]["messaging.message.id"] == flaky_id
    assert first["attributes"]["celery.task.outcome"] == "retry"
    assert second["attributes"]["celery.task.outcome"] == "success"
    assert second["attributes"]["celery.task.retries"] == 1
    [publish, republish] = sorted(
        spans_named(receiver, "publish celery_app.flaky"),
        key=lambda s: s["resource"]["service.name"] != "producer",
    )
    assert publish["kind"] == republish["kind"] == PRODUCER
    assert first["kind"] == second["kind"] == CONSUMER
    assert first["parent_span_id"] == publish["span_id"]
    assert republish["parent_span_id"] == first["span_id"]
    assert second["parent_span_id"] == republish["span_id"]
    assert (
        len({publish["trace_id"], first["trace_id"], republish["trace_id"], second["trace_id"]})
        == 1
    )
