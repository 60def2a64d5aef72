"""Celery in one process: the ``tripod_capture`` fixture sees a task's span and metrics (tasks
run with ``apply``, Celery's in-process path), the producer puts propagation headers in the
message (kombu's in-memory transport), and malformed signal arguments never reach the app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery import Celery, signals
from opentelemetry import trace

import tripod
from tripod.sdk import propagation
from tripod.sdk.integrations import celery as tripod_celery
from tripod.testing import Capture


def make_app() -> tuple[Any, Any, Any]:
    app = Celery("inprocess", broker="memory://")

    def add(x: int, y: int) -> int:
        return x + y

    def boom() -> None:
        msg = "no"
        raise ValueError(msg)

    return app, app.task(name="t.add")(add), app.task(name="t.boom")(boom)


@contextmanager
def request_context(name: str, correlation_id: str) -> Iterator[None]:
    """What a request handler's context looks like: a correlation id and a current span."""
    token = propagation.set_correlation_id(correlation_id)
    try:
        with tripod.span(name):
            yield
    finally:
        propagation.reset_correlation_id(token)


def test_apply_records_consumer_span_and_metrics(tripod_capture: Capture) -> None:
    _app, add, boom = make_app()
    assert add.apply(args=(2, 3)).get() == 5
    assert boom.apply().failed()
    spans = {s["name"]: s for s in tripod_capture.spans_as_dicts()}
    assert spans["t.add process"]["kind"] == "CONSUMER"
    assert spans["t.add process"]["attributes"]["celery.task.outcome"] == "success"
    assert spans["t.boom process"]["status"] == "ERROR"
    assert spans["t.boom process"]["attributes"]["error.type"] == "ValueError"
    duration = "celery_task_duration_seconds_count"
    assert tripod_capture.sample(duration, task="t.add", outcome="success") == 1
    assert tripod_capture.sample(duration, task="t.boom", outcome="failure") == 1


def test_publish_puts_trace_context_and_time_in_headers(tripod_capture: Capture) -> None:
    app, add, _boom = make_app()
    seen: list[dict[str, Any]] = []

    def keep(headers: dict[str, Any] | None = None, **kw: Any) -> None:
        seen.append(dict(headers or {}))

    signals.after_task_publish.connect(keep, weak=False)
    try:
        with request_context("checkout", "corr-7"):
            result = add.delay(1, 2)
    finally:
        signals.after_task_publish.disconnect(keep)
        app.close()
    [headers] = seen
    [publish] = [s for s in tripod_capture.spans_as_dicts() if s["name"] == "publish t.add"]
    assert publish["kind"] == "PRODUCER"
    assert publish["attributes"]["messaging.message.id"] == result.id
    trace_id, span_id = (
        f"{publish['context'][k]:0{n}x}" for k, n in (("trace_id", 32), ("span_id", 16))
    )
    assert headers["traceparent"] == f"00-{trace_id}-{span_id}-01"
    assert headers["X-Correlation-ID"] == "corr-7"
    assert isinstance(headers[tripod_celery.PUBLISHED_AT_HEADER], float)


@pytest.mark.parametrize(
    ("signal", "kwargs"),
    [
        (signals.before_task_publish, {"sender": "x", "headers": ["not", "a", "dict"]}),
        (signals.before_task_publish, {"sender": None, "headers": None}),
        (signals.after_task_publish, {"sender": "x", "headers": 42}),
        (signals.task_prerun, {"sender": None, "task_id": None, "task": object()}),
        (signals.task_retry, {"sender": None, "request": None, "reason": object()}),
        (signals.task_failure, {"sender": None, "task_id": "nope", "exception": None}),
        (signals.task_postrun, {"sender": None, "task_id": "never-started", "state": 3}),
    ],
)
def test_malformed_signal_arguments_never_raise(
    tripod_capture: Capture, signal: Any, kwargs: dict[str, Any]
) -> None:
    for _receiver, response in signal.send_robust(**kwargs):
        assert not isinstance(response, BaseException), response
    assert not trace.get_current_span().get_span_context().is_valid


def test_a_run_of_an_odd_task_object_ends_and_restores_the_context(
    tripod_capture: Capture,
) -> None:
    odd = object()
    signals.task_prerun.send(sender=odd, task_id="odd-1", task=odd)
    assert trace.get_current_span().get_span_context().is_valid
    signals.task_postrun.send(sender=odd, task_id="odd-1", task=odd, state=3)
    assert not trace.get_current_span().get_span_context().is_valid
    assert propagation.correlation_id() is None
    [span] = tripod_capture.spans_as_dicts()
    assert span["name"] == "unknown process"
    assert span["attributes"]["celery.task.outcome"] == "success"


def test_setting_off_leaves_celery_alone_and_instrument_celery_turns_it_on() -> None:
    tripod_celery.uninstrument_celery()
    with Capture(instrument_celery=False) as cap:
        app, add, _boom = make_app()
        assert add.apply(args=(1, 1)).get() == 2
        assert cap.spans_as_dicts() == []
        assert (
            cap.sample("celery_task_duration_seconds_count", task="t.add", outcome="success")
            is None
        )
        assert tripod_celery.instrument_celery(app) is True
        assert app.conf.worker_hijack_root_logger is False
        assert add.apply(args=(1, 1)).get() == 2
        assert [s["name"] for s in cap.spans_as_dicts()] == ["t.add process"]
    with Capture() as cap:  # the default: on
        _app, add, _boom = make_app()
        add.apply(args=(1, 2))
        assert (
            cap.sample("celery_task_duration_seconds_count", task="t.add", outcome="success") == 1
        )
