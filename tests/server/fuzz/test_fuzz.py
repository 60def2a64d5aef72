"""No 5xx and no hang on any input: hypothesis sends random and mutated requests to every decoder
and query API of a real `tripod serve`, and the server must still store afterwards.

Quick mode (the default, run by `make test`): a few hundred inputs per decoder. Long mode:
``TRIPOD_FUZZ_EXAMPLES=100000`` (or ``benchmarks/fuzz.py``, which also prints the counts).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import cramjam
import httpx
import pytest

from tests.helpers.procs import Proc, start_tripod_serve
from tests.server.fuzz.cases import (
    EXPOSITION_SEED,
    JS,
    RW,
    STALE,
    TARGETS,
    Stats,
    run,
    still_stores,
    write_request,
)

pytestmark = pytest.mark.e2e

#: Inputs per target in quick mode; decoders get more than the query APIs.
QUICK = {"otlp": 80, "remote-write": 150, "import-text": 120, "promql-query": 120, "api": 10}


def examples(name: str) -> int:
    forced = os.environ.get("TRIPOD_FUZZ_EXAMPLES")
    if forced:
        return int(forced)
    return next(n for prefix, n in QUICK.items() if name.startswith(prefix))


def serve_fuzz(tmp: Path) -> Proc:
    """A server with a short query budget, holding a little of every kind of data."""
    config = tmp / "tripod.yaml"
    config.write_text("limits:\n  query_timeout_s: 5\n  max_body_bytes: 1000000\n")
    return start_tripod_serve(tmp / "data", "--config", str(config), "--retention-time", "0")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with (
        serve_fuzz(tmp_path_factory.mktemp("fuzz")) as proc,
        httpx.Client(base_url=proc.url, timeout=30.0) as http,
    ):
        seed = TARGETS["import-text"].send(http, (EXPOSITION_SEED.encode(), "text/plain"))
        assert seed.status_code < 300, seed.text
        yield http


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_no_5xx_no_hang(client: httpx.Client, name: str) -> None:
    stats = Stats()
    run(TARGETS[name], client, examples(name), stats)
    assert stats.sent > 0
    still_stores(client)


def test_undecodable_remote_write_is_400(client: httpx.Client) -> None:
    # The fuzz runs above only assert "not 5xx"; this pins that garbage is refused, not stored.
    r = client.post("/api/v1/write", content=b"\xff" * 40, headers=RW)
    assert r.status_code == 400
    assert "snappy" in r.text


# --- the edges the fuzzers found, pinned ---


@pytest.mark.parametrize("path", ["/v1/traces", "/v1/logs", "/v1/metrics"])
def test_deep_json_is_400_before_parsing(client: httpx.Client, path: str) -> None:
    for body in (b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000):
        r = client.post(path, content=body, headers=JS)
        assert r.status_code == 400
        assert "levels deep" in r.json()["message"]


def test_traces_body_sent_to_logs_is_an_empty_success(client: httpx.Client) -> None:
    # OTLP/JSON receivers MUST ignore unknown fields: this is an empty ExportLogsServiceRequest.
    before = client.get("/api/v1/logs", params={"service": "fuzz-unknown"}).json()["data"]["logs"]
    doc = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "fuzz-unknown"}}]}}]}  # fmt: skip
    r = client.post("/v1/logs", content=json.dumps(doc), headers=JS)
    assert r.status_code == 200
    assert r.json() == {}
    after = client.get("/api/v1/logs", params={"service": "fuzz-unknown"}).json()["data"]["logs"]
    assert before == after == []


def test_times_past_int64_nanoseconds_are_refused_items(client: httpx.Client) -> None:
    late = str(2**64 - 1)
    bad = {"timeUnixNano": late, "body": {"stringValue": "x"}}
    records = [bad, {"body": {"stringValue": "ok"}}]
    logs = {"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}
    r = client.post("/v1/logs", content=json.dumps(logs), headers=JS)
    assert r.status_code == 200
    assert r.json()["partialSuccess"]["rejectedLogRecords"] == "1"
    span = {"traceId": "1" * 32, "spanId": "2" * 16, "name": "late", "startTimeUnixNano": late}
    traces = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    r = client.post("/v1/traces", content=json.dumps(traces), headers=JS)
    assert r.status_code == 200
    assert "invalid_timestamp" in r.json()["partialSuccess"]["errorMessage"]


def test_exponential_histogram_bounds_past_float64_are_not_a_500(client: httpx.Client) -> None:
    """The long fuzz run's find (OverflowError): scale -10, bucket 0 ends at 2**1024; and a
    scale below the data model's -10 is a refused point named in the answer."""

    def body(scale: int) -> str:
        point = {
            "timeUnixNano": "1",
            "scale": scale,
            "count": "3",
            "sum": 1.0,
            "positive": {"offset": 0, "bucketCounts": ["3"]},
        }
        metric = {
            "name": "fuzz_exp",
            "exponentialHistogram": {"aggregationTemporality": 2, "dataPoints": [point]},
        }
        return json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]})

    r = client.post("/v1/metrics", content=body(-10), headers=JS)
    assert r.status_code == 200
    assert "partialSuccess" not in r.json() or not r.json()["partialSuccess"]
    r = client.post("/v1/metrics", content=body(-11), headers=JS)
    assert r.status_code == 200
    assert r.json()["partialSuccess"]["rejectedDataPoints"] == "1"
    assert "scale -11 is below -10" in r.json()["partialSuccess"]["errorMessage"]


@pytest.mark.parametrize(
    "query",
    ["(" * 5000 + "1" + ")" * 5000, "1" + "+1" * 5000, "abs(" * 400 + "x" + ")" * 400,
     "x" + " or x" * 1000],
)  # fmt: skip
def test_queries_nested_too_deep_are_400(client: httpx.Client, query: str) -> None:
    r = client.post("/api/v1/query", data={"query": query})
    assert r.status_code == 400
    assert "too complex" in r.json()["error"]


@pytest.mark.parametrize("when", ["1e20", "-1e20", "9223372036854775"])
def test_times_past_int64_milliseconds_are_clamped(client: httpx.Client, when: str) -> None:
    r = client.get("/api/v1/query", params={"query": "fz_total", "time": when})
    assert r.status_code == 200
    assert r.json()["data"]["result"] == []
    r = client.get("/api/v1/query_range", params={"query": "fz_total", "start": when,
                                                  "end": when, "step": "1"})  # fmt: skip
    assert r.status_code == 200


@pytest.mark.parametrize("fn", ["rate", "increase", "delta", "resets", "changes", "irate",
                                "idelta", "deriv", "sum_over_time"])  # fmt: skip
def test_window_holding_only_a_stale_marker_is_empty(client: httpx.Client, fn: str) -> None:
    now = int(time.time() * 1000) - 60_000
    labels = [("__name__", "fz_gone"), ("fn", fn)]
    body = write_request([(labels, [(now, 1.0), (now + 1000, STALE)])])
    r = client.post("/api/v1/write", content=bytes(cramjam.snappy.compress_raw(body)), headers=RW)
    assert r.status_code == 204, r.text
    at = (now + 1500) / 1000  # the [1s] window (now+0.5s, now+1.5s] holds only the marker
    for query in (f'{fn}(fz_gone{{fn="{fn}"}}[1s])', f'sum({fn}(fz_gone{{fn="{fn}"}}[1s]))'):
        r = client.get("/api/v1/query", params={"query": query, "time": str(at)})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["result"] == []
