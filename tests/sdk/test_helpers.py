"""Domain helpers: counted, circuit breaker, retries, cache, dependencies, jobs; label bounds."""

from __future__ import annotations

import asyncio
import logging

import pytest

import tripod
from tripod.sdk.helpers import OTHER
from tripod.testing import Capture


def test_counted_counts_sync_and_async_calls_by_outcome(tripod_capture: Capture) -> None:
    @tripod.counted
    def charge(amount: int) -> int:
        if amount < 0:
            msg = "negative"
            raise ValueError(msg)
        return amount

    @tripod.counted(name="refund")
    async def refund_card() -> str:
        return "ok"

    assert charge(3) == 3
    assert charge(4) == 4
    with pytest.raises(ValueError, match="negative"):
        charge(-1)
    assert asyncio.run(refund_card()) == "ok"
    assert charge.__name__ == "charge"
    name = "test_counted_counts_sync_and_async_calls_by_outcome.<locals>.charge"
    calls = "tripod_function_calls_total"
    assert tripod_capture.sample(calls, function=name, outcome="success") == 2
    assert tripod_capture.sample(calls, function=name, outcome="error") == 1
    assert tripod_capture.sample(calls, function="refund", outcome="success") == 1
    with pytest.raises(ValueError, match="counted"):
        tripod.counted(name="")


def test_circuit_breaker_state_and_transitions(tripod_capture: Capture) -> None:
    tripod.set_circuit_state("payments", "closed")
    tripod.set_circuit_state("payments", "open")
    tripod.set_circuit_state("payments", "open")
    tripod.set_circuit_state("payments", "half_open")
    tripod.set_circuit_state("payments", "bogus")  # type: ignore[arg-type]  # ignored, not raised
    assert tripod_capture.sample("tripod_circuit_breaker_state", breaker="payments") == 2
    transitions = {
        (s.labels["from_state"], s.labels["to_state"]): s.value
        for s in tripod_capture.samples("tripod_circuit_breaker_transitions_total")
    }
    assert transitions == {("closed", "open"): 1, ("open", "half_open"): 1}


def test_retries_cache_dependencies(tripod_capture: Capture) -> None:
    tripod.record_retry("charge")
    tripod.record_retry("charge", attempts=2)
    tripod.record_cache("users", hit=True)
    tripod.record_cache("users", hit=True)
    tripod.record_cache("users", hit=False)
    tripod.set_dependency_up("postgres", True)
    tripod.set_dependency_up("stripe", False)
    assert tripod_capture.sample("tripod_retry_attempts_total", operation="charge") == 3
    cache = "tripod_cache_requests_total"
    assert tripod_capture.sample(cache, cache="users", result="hit") == 2
    assert tripod_capture.sample(cache, cache="users", result="miss") == 1
    assert tripod_capture.sample("tripod_dependency_up", dependency="postgres") == 1
    assert tripod_capture.sample("tripod_dependency_up", dependency="stripe") == 0


def test_track_job_as_decorator_and_block(tripod_capture: Capture) -> None:
    @tripod.track_job("send_email")
    async def send() -> None:
        await asyncio.sleep(0)

    asyncio.run(send())
    with tripod.track_job("send_email"):
        pass
    with pytest.raises(KeyError), tripod.track_job("send_email"):
        raise KeyError("x")
    runs = "tripod_job_runs_total"
    assert tripod_capture.sample(runs, job="send_email", outcome="success") == 2
    assert tripod_capture.sample(runs, job="send_email", outcome="error") == 1
    assert tripod_capture.sample("tripod_job_duration_seconds_count", job="send_email") == 3
    assert tripod_capture.sample("tripod_job_duration_seconds_bucket", job="send_email",
                                 le="3600.0") == 3  # fmt: skip


def test_dynamic_label_values_are_bounded(
    tripod_capture: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tripod")
    for i in range(150):
        tripod.record_cache(f"user-{i}", hit=True)
    tripod.record_cache("x" * 200, hit=True)
    values = {s.labels["cache"] for s in tripod_capture.samples("tripod_cache_requests_total")}
    assert len(values) == 101
    assert OTHER in values
    assert tripod_capture.sample("tripod_cache_requests_total", cache=OTHER, result="hit") == 51
    warnings = [r for r in caplog.records if "recorded as '__other__'" in r.getMessage()]
    assert len(warnings) == 1
