"""tripod.sdk.metrics: registration rules, never raising, helpers, HTTP metrics, threads."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator

import prometheus_client
import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client.parser import text_string_to_metric_families as parse_text

from tripod import catalog
from tripod.config import load_settings
from tripod.sdk import metrics


def _samples() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in parse_text(metrics.render()[0].decode())
        for s in family.samples
    }


def _families() -> list[str]:
    return [f.name for f in parse_text(metrics.render()[0].decode())]


def _value(name: str, **labels: str) -> float:
    return _samples()[(name, frozenset(labels.items()))]


# --- registration ------------------------------------------------------------------------------


def test_same_definition_returns_the_same_instrument() -> None:
    a = metrics.counter("jobs", "Jobs.", ["queue"])
    assert metrics.counter("jobs", "Jobs.", ["queue"]) is a
    assert metrics.counter("jobs_total", "Jobs.", ["queue"]) is a  # prometheus_client's rule
    h = metrics.histogram("lat", "Lat.", unit="seconds", buckets=[1, 2])
    assert metrics.histogram("lat", "Lat.", unit="seconds") is h  # no buckets: whatever exists


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (
            lambda: metrics.counter("x", "X."),
            lambda: metrics.gauge("x", "X."),
            "already registered",
        ),
        (
            lambda: metrics.counter("x", "X.", ["a"]),
            lambda: metrics.counter("x", "X.", ["b"]),
            "labels ['a']",
        ),
        (
            lambda: metrics.histogram("x", "X.", buckets=[1]),
            lambda: metrics.histogram("x", "X.", buckets=[2]),
            "buckets [1.0]",
        ),
        (lambda: metrics.counter("x", "X."), lambda: metrics.gauge("x_total", "X."), "x_total"),
        (lambda: metrics.histogram("x", "X."), lambda: metrics.gauge("x_count", "X."), "x_count"),
    ],
)
def test_conflicting_definitions_are_a_clear_error(first, second, message) -> None:  # type: ignore[no-untyped-def]
    first()
    with pytest.raises(ValueError, match="x") as info:
        second()
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: metrics.counter("1jobs", "J."), "invalid metric name '1jobs'"),
        (lambda: metrics.counter("jobs-done", "J."), "invalid metric name"),
        (lambda: metrics.counter("jobs", "J.", ["bad-label"]), "invalid label name 'bad-label'"),
        (lambda: metrics.counter("jobs", "J.", ["__name"]), "reserved"),
        (lambda: metrics.histogram("lat", "L.", ["le"]), "reserved"),
        (lambda: metrics.gauge("g", "G.", ["a", "a"]), "appears twice"),
        (lambda: metrics.histogram("lat", "L.", buckets=[2, 1]), "strictly increasing"),
        (lambda: metrics.histogram("lat", "L.", buckets=[]), "at least one finite"),
        (lambda: metrics.histogram("lat", "L.", buckets=["a"]), "must be numbers"),
        (lambda: metrics.gauge("g", "G.", unit="sec onds"), "invalid unit"),
    ],
)
def test_invalid_names_fail_at_creation(make, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        make()


def test_labels_given_as_a_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="sequence of names"):
        metrics.counter("jobs", "J.", "queue")


def test_unit_is_appended_like_prometheus_client() -> None:
    assert metrics.histogram("lat", "L.", unit="seconds").name == "lat_seconds"
    assert metrics.histogram("lat_seconds", "L.", unit="seconds").name == "lat_seconds"
    assert metrics.counter("sent_total", "S.", unit="bytes").name == "sent_bytes"


# --- use never raises ----------------------------------------------------------------------------


def test_bad_values_are_dropped_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    c = metrics.counter("jobs", "J.")
    g = metrics.gauge("g", "G.")
    h = metrics.histogram("h", "H.", buckets=[1])
    labelled = metrics.counter("lab", "L.", ["a", "b"])
    with caplog.at_level(logging.WARNING, logger="tripod.metrics"):
        for _ in range(3):
            c.inc(-1)
            c.inc(float("nan"))
            c.inc("abc")  # type: ignore[arg-type]
            g.set("abc")  # type: ignore[arg-type]
            g.inc(None)  # type: ignore[arg-type]
            h.observe(None)  # type: ignore[arg-type]
            h.observe(float("nan"))
            labelled.labels("only-one").inc()
            labelled.labels(a="1", c="2").inc()
            labelled.inc()
    assert _value("jobs_total") == 0
    assert _value("g") == 0
    assert _value("h_count") == 0
    assert not any(name == "lab_total" for name, _ in _samples())
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == len(set(messages))  # each problem once, not per call
    assert any("dropped inc(-1) on metric 'jobs'" in m for m in messages)
    assert any("takes 2 label values ['a', 'b'], got 1" in m for m in messages)
    assert any("needs .labels(a, b)" in m for m in messages)


def test_label_values_converted_and_children_cached() -> None:
    c = metrics.counter("resp", "R.", ["code", "ok"])
    child = c.labels(200, True)
    assert c.labels("200", "True") is child
    assert c.labels(code=200, ok=True) is child
    child.inc()
    c.labels(code="200", ok="True").inc(2)
    assert _value("resp_total", code="200", ok="True") == 3


def test_gauge_operations() -> None:
    g = metrics.gauge("g", "G.", ["k"])
    g.labels("a").inc(5)
    g.labels("a").dec(2)
    g.labels("b").set(-7.5)
    g.labels("c").set_to_current_time()
    assert _value("g", k="a") == 3
    assert _value("g", k="b") == -7.5
    assert _value("g", k="c") > 1.7e9


def test_remove_and_clear_children() -> None:
    c = metrics.counter("c", "C.", ["k"])
    c.labels("a").inc()
    c.labels("b").inc()
    c.remove("a")
    assert set(_samples()) >= {("c_total", frozenset({("k", "b")}))}
    assert ("c_total", frozenset({("k", "a")})) not in _samples()
    c.clear()
    assert not [k for k in _samples() if k[0] == "c_total"]


# --- timed ------------------------------------------------------------------------------------


def test_timed_sync_async_and_block() -> None:
    h = metrics.histogram("work", "W.", ["kind"], unit="seconds")

    @metrics.timed(h, kind="sync")
    def sync_work(x: int) -> int:
        return x * 2

    @metrics.timed(h, kind="async")
    async def async_work(x: int) -> int:
        await asyncio.sleep(0)
        return x * 3

    @metrics.timed(h, kind="boom")
    def failing() -> None:
        raise RuntimeError("boom")

    assert sync_work(2) == 4
    assert sync_work.__name__ == "sync_work"
    assert asyncio.run(async_work(2)) == 6
    with pytest.raises(RuntimeError):
        failing()
    with metrics.timed(h, kind="block"):
        pass

    async def in_async_block() -> None:
        async with metrics.timed(h, kind="ablock"):
            await asyncio.sleep(0)

    asyncio.run(in_async_block())
    for kind in ("sync", "async", "boom", "block", "ablock"):
        assert _value("work_seconds_count", kind=kind) == 1


def test_timed_by_name_creates_a_seconds_histogram_once() -> None:
    @metrics.timed("resize_image", size="small")
    def resize() -> None:
        pass

    resize()
    resize()
    with metrics.timed("resize_image", size="small"):
        pass
    assert _value("resize_image_seconds_count", size="small") == 3
    metrics.gauge("not_a_histogram", "N.")
    with pytest.raises(TypeError, match="needs a histogram"):
        metrics.timed("not_a_histogram")


def test_timed_attaches_the_current_sampled_span_as_exemplar() -> None:
    tracer = TracerProvider().get_tracer("test")
    h = metrics.histogram("traced_work", "W.", unit="seconds")
    with tracer.start_as_current_span("outer") as span:
        with metrics.timed(h):
            pass
        trace_id = format(span.get_span_context().trace_id, "032x")
    body, _ = metrics.render("application/openmetrics-text")
    assert f'# {{trace_id="{trace_id}",span_id="' in body.decode()


# --- HTTP server metrics --------------------------------------------------------------------


def test_import_creates_no_family_first_use_and_init_do() -> None:
    """``import tripod`` registers nothing; a family appears when first used or at init()."""
    script = (
        "import tripod\n"
        "from tripod.sdk import metrics\n"
        "print(sorted(f.name for f in metrics.REGISTRY.families()))\n"
        "metrics.record_dropped('spans')\n"
        "print(sorted(f.name for f in metrics.REGISTRY.families()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out == ["[]", "['tripod_telemetry_dropped']"]


def test_http_metrics_follow_the_catalog() -> None:
    metrics.configure(load_settings({}, environ={}, pyproject=False))
    for spec in (
        catalog.HTTP_SERVER_REQUEST_DURATION,
        catalog.HTTP_SERVER_REQUEST_BODY_SIZE,
        catalog.HTTP_SERVER_RESPONSE_BODY_SIZE,
        catalog.HTTP_SERVER_ACTIVE_REQUESTS,
        catalog.TELEMETRY_DROPPED,
    ):
        family = metrics.REGISTRY.get(spec.name)
        assert family is not None, spec.name
        assert family.kind == spec.type
        assert family.labelnames == spec.labels
        assert family.help == spec.help
        if spec.buckets is not None:
            assert tuple(getattr(family, "bounds", ())) == spec.buckets


def test_one_series_per_label_tuple_and_active_requests() -> None:
    hm = metrics.http_server_metrics()
    for i in range(1000):
        hm.start("GET")
        hm.finish("GET", "/orders/{id}", 200, 0.001 * (i % 10), request_size=i, response_size=10)
    hm.start("POST")
    hm.finish("POST", "/orders/{id}", 201, 0.2)
    hm.start("BREW")  # not an HTTP method: one "_OTHER" series, however many odd methods come
    hm.start("PROPFIND")
    samples = _samples()
    counts = {
        k: v for k, v in samples.items() if k[0] == "http_server_request_duration_seconds_count"
    }
    assert counts == {
        (
            "http_server_request_duration_seconds_count",
            frozenset({("http_request_method", "GET"), ("http_route", "/orders/{id}"),
                       ("http_response_status_code", "200")}),
        ): 1000,
        (
            "http_server_request_duration_seconds_count",
            frozenset({("http_request_method", "POST"), ("http_route", "/orders/{id}"),
                       ("http_response_status_code", "201")}),
        ): 1,
    }  # fmt: skip
    get = {"http_request_method": "GET", "http_route": "/orders/{id}",
           "http_response_status_code": "200"}  # fmt: skip
    assert _value("http_server_request_body_size_bytes_count", **get) == 1000
    assert _value("http_server_response_body_size_bytes_sum", **get) == 10_000
    # POST recorded no sizes: its size histograms have a zero count, not missing series.
    assert _value("http_server_active_requests", http_request_method="GET") == 0
    assert _value("http_server_active_requests", http_request_method="_OTHER") == 2


def test_finish_never_raises_on_bad_input() -> None:
    hm = metrics.http_server_metrics()
    hm.finish("GET", "/x", "oops", "slow")  # type: ignore[arg-type]
    hm.finish(None, None, None, None, request_size="big")  # type: ignore[arg-type]


def test_configure_disables_buckets_and_is_idempotent() -> None:
    hm = metrics.http_server_metrics()
    metrics.configure(load_settings({"metrics_enabled": False}, environ={}, pyproject=False))
    hm.start("GET")
    hm.finish("GET", "/x", 200, 0.1)
    assert not [k for k in _samples() if k[0].startswith("http_server_request_duration")]

    settings = load_settings({"http_buckets": "0.1,1"}, environ={}, pyproject=False)
    metrics.configure(settings)
    assert metrics.http_server_metrics() is hm
    hm.finish("GET", "/x", 200, 0.5)
    metrics.configure(settings)  # again: same buckets, series kept
    hm.finish("GET", "/x", 200, 0.5)
    les = {
        dict(labels)["le"]
        for name, labels in _samples()
        if name == "http_server_request_duration_seconds_bucket"
    }
    assert les == {"0.1", "1.0", "+Inf"}
    labels = {"http_request_method": "GET", "http_route": "/x", "http_response_status_code": "200"}
    assert _value("http_server_request_duration_seconds_count", **labels) == 2


def test_record_dropped() -> None:
    metrics.record_dropped("spans", 3)
    metrics.record_dropped("spans")
    metrics.record_dropped("logs")
    assert _value("tripod_telemetry_dropped_total", signal="spans") == 4
    assert _value("tripod_telemetry_dropped_total", signal="logs") == 1


def test_reset_forgets_user_metrics() -> None:
    metrics.counter("mine", "M.").inc()
    metrics.reset()
    assert "mine" not in _families()
    assert metrics.counter("mine", "M.", ["now_labelled"]) is not None


# --- threads --------------------------------------------------------------------------------


def test_no_lost_updates_from_many_threads() -> None:
    c = metrics.counter("hits", "H.", ["k"])
    h = metrics.histogram("lat", "L.", ["k"], buckets=[0.5])
    hm = metrics.http_server_metrics()
    n, threads = 20_000, 8
    barrier = threading.Barrier(threads)

    def work(i: int) -> None:
        barrier.wait()
        child = c.labels("same")
        for j in range(n):
            child.inc()
            h.labels(str(i % 2)).observe(j % 2)
            hm.start("GET")
            hm.finish("GET", "/t", 200, 0.01)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert _value("hits_total", k="same") == n * threads
    assert _value("lat_count", k="0") + _value("lat_count", k="1") == n * threads
    assert _value("lat_bucket", k="0", le="0.5") == n * threads / 4
    labels = {"http_request_method": "GET", "http_route": "/t", "http_response_status_code": "200"}
    assert _value("http_server_request_duration_seconds_count", **labels) == n * threads
    assert _value("http_server_active_requests", http_request_method="GET") == 0


# --- prometheus_client's registry and runtime metrics ---------------------------------------


@pytest.fixture
def legacy_counter() -> Iterator[prometheus_client.Counter]:
    counter = prometheus_client.Counter("legacy_jobs", "Jobs (prometheus_client).", ["q"])
    yield counter
    prometheus_client.REGISTRY.unregister(counter)


def test_default_registry_metrics_appear(legacy_counter: prometheus_client.Counter) -> None:
    legacy_counter.labels("a").inc(4)
    assert _value("legacy_jobs_total", q="a") == 4
    om = metrics.render("application/openmetrics-text")[0].decode()
    assert 'legacy_jobs_total{q="a"} 4.0' in om
    assert om.count("# EOF") == 1


def test_duplicate_family_names_are_shown_once(
    legacy_counter: prometheus_client.Counter, caplog: pytest.LogCaptureFixture
) -> None:
    metrics.counter("legacy_jobs", "Jobs (tripod).", ["q"]).labels("a").inc(1)
    legacy_counter.labels("a").inc(99)
    with caplog.at_level(logging.WARNING, logger="tripod.metrics"):
        names = _families()
    assert names.count("legacy_jobs") == 1
    assert _value("legacy_jobs_total", q="a") == 1  # tripod's own wins
    assert "only tripod's is shown" in caplog.text
    assert len(names) == len(set(names))


RUNTIME = (
    "process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
    "process_open_fds", "process_max_fds", "process_start_time_seconds", "process_threads",
    "python_gc_objects_collected_total", "python_gc_collections_total", "python_info",
)  # fmt: skip


def test_process_and_runtime_metrics_once_each() -> None:
    names = [name for name, _ in _samples()]
    for wanted in RUNTIME:
        assert wanted in names, wanted
    assert _value("process_threads") >= 1
    assert _value("process_resident_memory_bytes") > 1_000_000
    # Still there (once) when someone unregistered prometheus_client's process collector.
    prometheus_client.REGISTRY.unregister(prometheus_client.PROCESS_COLLECTOR)
    try:
        families = _families()
        assert families.count("process_cpu_seconds") == 1
        assert len(families) == len(set(families))
    finally:
        prometheus_client.REGISTRY.register(prometheus_client.PROCESS_COLLECTOR)


def test_histogram_time() -> None:
    h = metrics.histogram("block", "B.", unit="seconds")
    with h.time():
        pass
    assert _value("block_seconds_count") == 1
    labelled = metrics.histogram("block_by", "B.", ["k"], unit="seconds")
    with labelled.time():  # needs .labels() first: dropped, logged once, never raised
        pass
    assert metrics.sample_value("block_by_seconds_count", {"k": "x"}) is None
    with metrics.timed(labelled, k="x"):
        pass
    assert _value("block_by_seconds_count", k="x") == 1


def test_odd_label_values_never_raise_and_never_break_a_scrape() -> None:
    c = metrics.counter("odd", "O.", ["v"])
    c.labels(["a", "list"]).inc()  # unhashable: converted with str()
    c.labels("bad \udcff surrogate").inc()  # from a path decoded with surrogateescape

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

        def __repr__(self) -> str:
            raise RuntimeError("no")

        def __float__(self) -> float:
            raise RuntimeError("no")

    c.labels(Unprintable()).inc()  # dropped, logged once
    c.labels("x").inc(Unprintable())  # type: ignore[arg-type]
    metrics.gauge("odd_g", "G.").set(Unprintable())  # type: ignore[arg-type]
    metrics.histogram("odd_h", "H.").observe(Unprintable())  # type: ignore[arg-type]
    assert _value("odd_total", v="['a', 'list']") == 1
    assert _value("odd_total", v="bad \ufffd surrogate") == 1


def test_sample_value_helper() -> None:
    metrics.counter("jobs", "J.", ["q"]).labels("email").inc(3)
    assert metrics.sample_value("jobs_total", {"q": "email"}) == 3
    assert metrics.sample_value("jobs_total", {"q": "sms"}) is None
    assert metrics.sample_value("process_threads") is not None
