"""Spans: traced/span helpers, sampling, OTLP export to a real receiver, the global provider."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import tripod
from tests.helpers.otlp_receiver import OtlpReceiver
from tripod.testing import Capture


@tripod.traced
def add(a: int, b: int) -> int:
    return a + b


@tripod.traced(name="custom name", attributes={"kind": "demo"})
async def fetch(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2


class Service:
    @tripod.traced
    def method(self) -> str:
        with tripod.span("inner", answer=42, tags=["a", "b"], obj=object()):
            return "ok"


def test_traced_sync_async_and_nested_spans(tripod_capture: Capture) -> None:
    cap = tripod_capture
    assert add(1, 2) == 3
    assert asyncio.run(fetch(4)) == 8
    assert Service().method() == "ok"
    spans = {s.name: s for s in cap.spans}
    assert set(spans) == {"add", "custom name", "Service.method", "inner"}
    assert spans["custom name"].attributes is not None
    assert spans["custom name"].attributes["kind"] == "demo"
    inner, outer = spans["inner"], spans["Service.method"]
    assert inner.parent is not None
    assert inner.parent.span_id == outer.context.span_id
    assert inner.attributes is not None
    assert inner.attributes["answer"] == 42
    assert tuple(inner.attributes["tags"]) == ("a", "b")
    assert str(inner.attributes["obj"]).startswith("<object object")


def test_exceptions_are_recorded_and_propagate_unchanged(tripod_capture: Capture) -> None:
    cap = tripod_capture

    class BoomError(Exception):
        pass

    @tripod.traced
    def explode() -> None:
        raise BoomError

    with pytest.raises(BoomError):
        explode()
    [span] = cap.spans
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]


def test_ratio_sampler_zero_exports_nothing() -> None:
    cap = Capture(traces_sampler="parentbased_traceidratio", traces_sampler_arg=0.0).start()
    for _ in range(20):
        with tripod.span("unsampled") as span:
            assert not span.get_span_context().trace_flags.sampled
    assert cap.spans == []


def test_third_party_tracers_follow_reinitialisation() -> None:
    tracer = trace.get_tracer("some.library")
    first = Capture(service_name="one").start()
    with tracer.start_as_current_span("lib"):
        pass
    assert [s.resource.attributes["service.name"] for s in first.spans] == ["one"]
    second = Capture(service_name="two").start()
    with tracer.start_as_current_span("lib"):
        pass
    assert [s.resource.attributes["service.name"] for s in second.spans] == ["two"]
    tripod.shutdown()
    with tracer.start_as_current_span("after") as span:
        assert not span.is_recording()


def test_spans_and_logs_reach_a_real_otlp_receiver() -> None:
    with OtlpReceiver() as receiver:
        Capture(service_name="wire", otlp_endpoint=receiver.url).start()
        with tripod.span("checkout", items=3) as span:
            tripod.get_logger("wire").info("inside", extra={"step": 1})
        tripod.force_flush(10)
        trace_id = format(span.get_span_context().trace_id, "032x")
        receiver.wait_for(lambda r: bool(r.spans) and bool(r.logs))
        [got] = receiver.spans
        assert got["name"] == "checkout"
        assert got["trace_id"] == trace_id
        assert got["attributes"] == {"items": 3}
        assert got["resource"]["service.name"] == "wire"
        [record] = [r for r in receiver.logs if r["body"] == "inside"]
        assert record["trace_id"] == trace_id
        assert record["span_id"] == got["span_id"]
        assert record["severity_text"] == "INFO"
        assert record["attributes"]["step"] == 1
        assert record["attributes"]["logger.name"] == "wire"


def test_export_keeps_working_in_a_forked_child() -> None:
    import os

    with OtlpReceiver() as receiver:
        Capture(service_name="forked", otlp_endpoint=receiver.url, logs_enabled=False).start()
        with tripod.span("in parent"):  # the parent holds a kept-alive connection when it forks
            pass
        assert tripod.force_flush(10)
        pid = os.fork()
        if pid == 0:  # the child: a gunicorn --preload worker, say
            code = 1
            try:
                with tripod.span("in child"):
                    pass
                code = 0 if tripod.force_flush(10) else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        receiver.wait_for(lambda r: any(s["name"] == "in child" for s in r.spans))
        [span] = [s for s in receiver.spans if s["name"] == "in child"]
        assert span["resource"]["service.name"] == "forked"
        with tripod.span("parent after"):
            pass
        assert tripod.force_flush(10)
        assert [s["name"] for s in receiver.spans] == ["in parent", "in child", "parent after"]
