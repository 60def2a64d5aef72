"""tripod.testing: the capture users reuse, with fixed ids and clock; and its pytest plugin."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tripod
from tripod.sdk import current_settings, metrics
from tripod.testing import Capture, FixedIdGenerator, Sample


def _work() -> None:
    with tripod.span("outer", order=7):
        tripod.get_logger("shop").info("inside")
        with tripod.span("inner"):
            tripod.counter("orders", "Orders.", ["status"]).labels("ok").inc(2)
    tripod.get_logger("shop").warning("after")


def test_capture_gives_the_same_spans_logs_and_samples_every_time() -> None:
    runs = []
    for _ in range(2):
        with Capture(service_name="shop") as cap:
            _work()
            runs.append(
                (cap.spans_as_dicts(), cap.records(), cap.sample("orders_total", status="ok"))
            )
    assert runs[0] == runs[1]
    spans, records, orders = runs[0]
    assert orders == 2
    first, second = ({"trace_id": 1, "span_id": 1}, {"trace_id": 1, "span_id": 2})
    assert [
        (s["name"], s["context"], s["parent"], s["start_time"], s["end_time"]) for s in spans
    ] == [
        ("inner", second, first, 2 * 10**9, 3 * 10**9),
        ("outer", first, None, 1 * 10**9, 4 * 10**9),
    ]
    assert spans[1]["attributes"]["order"] == 7
    assert spans[1]["kind"] == "INTERNAL"
    assert spans[1]["status"] == "UNSET"
    inside, after = records
    assert inside["timestamp"] == "1970-01-01T00:00:01.000000Z"
    assert after["timestamp"] == "1970-01-01T00:00:02.000000Z"
    assert inside["trace_id"] == f"{1:032x}"
    assert inside["span_id"] == f"{1:016x}"
    assert "trace_id" not in after
    assert [r["message"] for r in records] == ["inside", "after"]


def test_samples_clear_and_stop() -> None:
    cap = Capture().start()
    try:
        tripod.gauge("queue_depth", "Depth.").set(3)
        tripod.get_logger("x").info("one")
        assert Sample("queue_depth", {}, 3.0) in cap.samples("queue_depth")
        assert cap.sample("queue_depth") == 3
        assert cap.sample("queue_depth", shard="a") is None
        assert cap.sample("missing") is None
        cap.clear()
        assert cap.records() == []
        assert cap.spans == []
        assert cap.sample("queue_depth") == 3  # metrics are cumulative
    finally:
        cap.stop()
    assert current_settings() is None
    assert metrics.sample_value("queue_depth") is None


def test_init_again_with_other_settings_keeps_capturing() -> None:
    with Capture(service_name="one") as cap:
        cap.init(service_name="two")
        with tripod.span("s"):
            pass
        [span] = cap.spans
        assert span.resource.attributes["service.name"] == "two"
        assert cap.spans_as_dicts()[0]["context"] == {"trace_id": 1, "span_id": 1}


def test_random_ids_when_asked() -> None:
    with Capture(fixed_ids=False) as cap:
        with tripod.span("s"):
            pass
        [span] = cap.spans_as_dicts()
        assert span["context"]["trace_id"] > 2**32  # 1 in 2**96 to fail


def test_fixed_id_generator_counts() -> None:
    ids = FixedIdGenerator()
    assert [ids.generate_trace_id(), ids.generate_trace_id()] == [1, 2]
    assert [ids.generate_span_id(), ids.generate_span_id()] == [1, 2]
    assert ids.is_trace_id_random() is False


def test_pytest_plugin_gives_the_fixture_to_any_project(tmp_path: Path) -> None:
    """A project that only installed tripod gets ``tripod_capture`` (the pytest11 entry point)."""
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import tripod

            def test_uses_the_fixture(tripod_capture):
                with tripod.span("work"):
                    tripod.counter("jobs", "Jobs.").inc()
                [span] = tripod_capture.spans_as_dicts()
                assert span["context"] == {"trace_id": 1, "span_id": 1}
                assert (span["start_time"], span["end_time"]) == (10**9, 2 * 10**9)
                assert tripod_capture.sample("jobs_total") == 1

            def test_next_test_starts_clean(tripod_capture):
                assert tripod_capture.sample("jobs_total") is None
                assert tripod_capture.spans == []
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_importing_testing_does_not_import_pytest() -> None:
    script = "import sys, tripod.testing; print('pytest' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


@pytest.fixture(autouse=True)
def _fresh() -> None:
    tripod.shutdown()
    metrics.reset()
