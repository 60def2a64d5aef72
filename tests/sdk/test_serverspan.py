"""tripod's server span decides sampling, ids and trace state as the SDK's own span would,
including through its shortcuts for ALWAYS_ON and the default ParentBased(ALWAYS_ON)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tripod.sdk._serverspan import ServerSpan, ServerSpanFactory

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENTS = {
    "none": None,
    "sampled": {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"},
    "unsampled": {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-00"},
    "sampled+state": {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01", "tracestate": "k=v,a=b"},
    "unsampled+state": {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-00", "tracestate": "k=v"},
}
SAMPLERS: dict[str, Sampler] = {
    "always_on": ALWAYS_ON,
    "always_off": ALWAYS_OFF,
    "parentbased_always_on": ParentBased(ALWAYS_ON),
    "parentbased_always_off": ParentBased(ALWAYS_OFF),
    "parentbased_ratio": ParentBased(TraceIdRatioBased(0.5)),
    "ratio": TraceIdRatioBased(0.5),
}


@pytest.mark.parametrize("parent_name", list(PARENTS))
@pytest.mark.parametrize("sampler_name", list(SAMPLERS))
def test_server_span_decides_as_the_sdk_span(sampler_name: str, parent_name: str) -> None:
    provider = TracerProvider(sampler=SAMPLERS[sampler_name])
    ended: list[ServerSpan] = []
    factory = ServerSpanFactory(provider, ended.append)
    tracer = provider.get_tracer("check")
    carrier = PARENTS[parent_name]
    for _ in range(20):  # ratio samplers: several trace ids
        parent = TraceContextTextMapPropagator().extract(carrier) if carrier else None
        ours = factory.start("GET", parent, {"url.path": "/x"})
        mine = ours.get_span_context()
        # The SDK's span for the same trace id decides the same way.
        sdk = tracer.start_span("GET", context=parent)
        theirs = sdk.get_span_context()
        if carrier is None:  # a root: compare the decision for our trace id
            assert mine.is_valid
            expected = SAMPLERS[sampler_name].should_sample(None, mine.trace_id, "GET")
            assert mine.trace_flags.sampled == (expected.decision is Decision.RECORD_AND_SAMPLE)
            assert ours.is_recording() == (expected.decision is not Decision.DROP)
            assert mine.trace_state == theirs.trace_state
        else:
            assert mine.trace_id == theirs.trace_id == int(TRACE, 16)
            assert mine.trace_flags.sampled == theirs.trace_flags.sampled
            assert ours.is_recording() == sdk.is_recording()
            assert mine.trace_state == theirs.trace_state
            assert mine.span_id != theirs.span_id
        assert not mine.is_remote
        ours.end()
        sdk.end()
    assert all(isinstance(span, ServerSpan) for span in ended)
