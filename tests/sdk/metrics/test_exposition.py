"""Exposition formats: parsed back with prometheus_client's own parsers and checked by promtool."""

from __future__ import annotations

import math
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from tripod.sdk import metrics
from tripod.sdk.metrics._exposition import format_value, wants_openmetrics

OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT = "text/plain; version=0.0.4; charset=utf-8"
# What Prometheus 2.x sends when scraping (scrape.go, acceptHeader).
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"


def _text() -> str:
    body, content_type = metrics.render()
    assert content_type == TEXT
    return body.decode()


def _openmetrics() -> str:
    body, content_type = metrics.render(PROMETHEUS_ACCEPT)
    assert content_type == OM
    return body.decode()


def _samples(
    text: str, *, openmetrics: bool = False
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    parse = parse_openmetrics if openmetrics else parse_text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in parse(text)
        for s in family.samples
    }


def test_counter_gauge_histogram_values_parse_back_in_both_formats() -> None:
    jobs = metrics.counter("jobs", "Jobs done.", ["queue"])
    jobs.labels("email").inc()
    jobs.labels("email").inc(2.5)
    jobs.labels(queue="sms").inc()
    depth = metrics.gauge("queue_depth", "Items waiting.", ["queue"])
    depth.labels("email").set(7)
    depth.labels("email").dec(2)
    lat = metrics.histogram("work_duration", "Work.", ["queue"], unit="seconds", buckets=[0.1, 1])
    for v in (0.05, 0.1, 0.5, 3.0):
        lat.labels("email").observe(v)

    for text, om in ((_text(), False), (_openmetrics(), True)):
        got = _samples(text, openmetrics=om)
        email = frozenset({("queue", "email")})
        assert got[("jobs_total", email)] == 3.5
        assert got[("jobs_total", frozenset({("queue", "sms")}))] == 1.0
        assert got[("queue_depth", email)] == 5.0
        le = lambda b: frozenset({("queue", "email"), ("le", b)})  # noqa: E731
        assert got[("work_duration_seconds_bucket", le("0.1"))] == 2  # le is inclusive
        assert got[("work_duration_seconds_bucket", le("1.0"))] == 3
        assert got[("work_duration_seconds_bucket", le("+Inf"))] == 4
        assert got[("work_duration_seconds_count", email)] == 4
        assert got[("work_duration_seconds_sum", email)] == pytest.approx(3.65)


def test_help_and_type_lines() -> None:
    metrics.counter("jobs", "Jobs done.\nSecond line with \\ backslash.")
    metrics.histogram("lat", "Latency.", unit="seconds")
    text = _text()
    assert "# HELP jobs_total Jobs done.\\nSecond line with \\\\ backslash.\n" in text
    assert "# TYPE jobs_total counter\n" in text
    assert "# TYPE lat_seconds histogram\n" in text
    om = _openmetrics()
    assert "# TYPE jobs counter\n" in om
    assert "# UNIT lat_seconds seconds\n" in om
    assert om.endswith("# EOF\n")
    assert om.count("# EOF") == 1
    families = {f.name: f for f in parse_text(text)}
    assert families["jobs"].documentation == "Jobs done.\nSecond line with \\ backslash."
    assert families["lat_seconds"].type == "histogram"
    assert {f.name: f.unit for f in parse_openmetrics(om)}["lat_seconds"] == "seconds"


def test_label_values_are_escaped() -> None:
    weird = 'back\\slash "quoted"\nnew line ünï'
    metrics.gauge("g", "G.", ["v"]).labels(weird).set(1)
    text = _text()
    assert 'g{v="back\\\\slash \\"quoted\\"\\nnew line ünï"} 1.0\n' in text
    for om in (False, True):
        got = _samples(_openmetrics() if om else text, openmetrics=om)
        assert got[("g", frozenset({("v", weird)}))] == 1.0


def test_special_float_values() -> None:
    g = metrics.gauge("g", "G.", ["k"])
    g.labels("nan").set(math.nan)
    g.labels("inf").set(math.inf)
    g.labels("ninf").set(-math.inf)
    g.labels("tiny").set(1e-300)
    g.labels("big").set(1.5e300)
    text = _text()
    assert 'g{k="nan"} NaN\n' in text
    assert 'g{k="inf"} +Inf\n' in text
    assert 'g{k="ninf"} -Inf\n' in text
    for om in (False, True):
        got = _samples(_openmetrics() if om else text, openmetrics=om)
        assert math.isnan(got[("g", frozenset({("k", "nan")}))])
        assert got[("g", frozenset({("k", "inf")}))] == math.inf
        assert got[("g", frozenset({("k", "ninf")}))] == -math.inf
        assert got[("g", frozenset({("k", "tiny")}))] == 1e-300
        assert got[("g", frozenset({("k", "big")}))] == 1.5e300
    assert [format_value(v) for v in (0.1, 3.0, 1e22, -0.0)] == ["0.1", "3.0", "1e+22", "-0.0"]


def test_histogram_le_labels_match_prometheus_client() -> None:
    metrics.histogram("size", "S.", unit="bytes", buckets=[100, 1e7])
    text = _text()
    assert 'size_bytes_bucket{le="100.0"} 0\n' in text
    assert 'size_bytes_bucket{le="1e+07"} 0\n' in text  # as prometheus_client spells it
    assert 'size_bytes_bucket{le="+Inf"} 0\n' in text


def test_exemplar_only_on_the_bucket_observed_and_only_in_openmetrics() -> None:
    hm = metrics.http_server_metrics()
    hm.start("GET")
    hm.finish("GET", "/orders/{id}", 200, 0.03, trace_id=TRACE_ID, span_id=SPAN_ID)
    hm.start("GET")
    hm.finish("GET", "/orders/{id}", 200, 0.3)  # not sampled: no exemplar
    assert "trace_id" not in _text()
    with_exemplar = []
    for family in parse_openmetrics(_openmetrics()):
        for s in family.samples:
            if s.exemplar is not None:
                with_exemplar.append((s.name, s.labels["le"], s.exemplar))
    assert len(with_exemplar) == 1
    name, le, exemplar = with_exemplar[0]
    assert (name, le) == ("http_server_request_duration_seconds_bucket", "0.05")
    assert exemplar.labels == {"trace_id": TRACE_ID, "span_id": SPAN_ID}
    assert exemplar.value == 0.03
    assert exemplar.timestamp is not None


def test_latest_exemplar_per_bucket_and_user_exemplars() -> None:
    h = metrics.histogram("h", "H.", buckets=[1, 2])
    h.observe(0.5, {"trace_id": "1" * 32})
    h.observe(0.7, {"trace_id": "2" * 32})
    h.observe(5, {"user": "alice"})
    got = {
        s.labels["le"]: s.exemplar
        for f in parse_openmetrics(_openmetrics())
        if f.name == "h"
        for s in f.samples
        if s.name == "h_bucket"
    }
    assert got["1.0"].labels == {"trace_id": "2" * 32}
    assert got["1.0"].value == 0.7
    assert got["2.0"] is None
    assert got["+Inf"].labels == {"user": "alice"}


def test_exemplar_label_values_are_escaped() -> None:
    # prometheus_client's OpenMetrics parser cannot read an escaped quote inside exemplar labels
    # (its own generator writes them exactly like this), so the text is checked directly.
    metrics.histogram("h", "H.", buckets=[1]).observe(5, {"user": 'a"b\\c'})
    assert 'h_bucket{le="+Inf"} 1 # {user="a\\"b\\\\c"} 5.0 ' in _openmetrics()


def test_oversized_exemplar_is_dropped_but_the_observation_counts() -> None:
    h = metrics.histogram("h", "H.", buckets=[1])
    h.observe(0.5, {"trace_id": "x" * 200})
    h.observe(0.7, {"bad-name": "x"})
    om = _openmetrics()
    assert " # {" not in om
    assert _samples(om, openmetrics=True)[("h_count", frozenset())] == 2


def test_exemplars_switched_off_by_settings() -> None:
    from tripod.config import load_settings

    metrics.configure(load_settings({"exemplars": False}, environ={}, pyproject=False))
    hm = metrics.http_server_metrics()
    hm.start("GET")
    hm.finish("GET", "/x", 200, 0.01, trace_id=TRACE_ID, span_id=SPAN_ID)
    assert "trace_id" not in _openmetrics()


@pytest.mark.parametrize(
    ("accept", "openmetrics"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("text/plain", False),
        ("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5", False),
        ("application/openmetrics-text", True),
        ("application/openmetrics-text;version=1.0.0", True),
        (PROMETHEUS_ACCEPT, True),
        ("application/openmetrics-text;version=0.0.1;q=0.75,text/plain;q=0.5", True),
        ("application/openmetrics-text;q=0", False),
        ("application/openmetrics-text;q=oops,text/plain", False),
        ("application/json", False),
    ],
)
def test_content_negotiation(accept: str | None, openmetrics: bool) -> None:
    assert wants_openmetrics(accept) is openmetrics
    assert metrics.render(accept)[1] == (OM if openmetrics else TEXT)


def test_promtool_accepts_the_text_format(tmp_path: object) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is not installed: run `make test`, which installs Debian's prometheus"
        )
    metrics.counter("jobs", "Jobs done.", ["queue"]).labels('a"b\\c\nd').inc()
    metrics.gauge("temperature_celsius", "Temperature.").set(-3.5)
    metrics.histogram("work_duration_seconds", "Work.", ["k"]).labels("x").observe(0.2)
    hm = metrics.http_server_metrics()
    hm.start("GET")
    hm.finish("GET", "/orders/{id}", 200, 0.01, request_size=10, response_size=10)
    metrics.record_dropped("spans", 3)
    body, _ = metrics.render()
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


_label_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),  # no lone surrogates
    max_size=30,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.tuples(
            _label_values, st.floats(allow_nan=False) | st.sampled_from([math.inf, -math.inf])
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda t: t[0],
    )
)
def test_any_label_value_and_float_round_trips(values: list[tuple[str, float]]) -> None:
    metrics.reset()
    g = metrics.gauge("g", "G.", ["v"])
    for label, value in values:
        g.labels(label).set(value)
    for om in (False, True):
        got = _samples(_openmetrics() if om else _text(), openmetrics=om)
        for label, value in values:
            assert got[("g", frozenset({("v", label)}))] == value


def test_observe_trace_never_writes_an_exemplar_prometheus_would_reject() -> None:
    h = metrics.histogram("h", "H.", buckets=[1])
    h.observe_trace(0.5, "x" * 200, "y")  # too long: observation kept, exemplar not
    h.observe_trace(2.0, 'a"b', "c\\d")  # escaped
    om = _openmetrics()
    assert 'h_bucket{le="1.0"} 1\n' in om
    assert 'h_bucket{le="+Inf"} 2 # {trace_id="a\\"b",span_id="c\\\\d"} 2.0 ' in om
