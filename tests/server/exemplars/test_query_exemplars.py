"""Exemplars end to end on a real `tripod serve`: from an OpenMetrics scrape, from a real
Prometheus 2.42's remote write (``send_exemplars``), and from OTLP metrics; and
``/api/v1/query_exemplars`` answering as that same Prometheus does (differential)."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb

from tests.helpers.procs import Proc, start_prometheus, start_tripod_serve
from tests.helpers.scrape import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class OpenMetricsTarget:
    """Serves an OpenMetrics body whose exemplars carry explicit timestamps (so two scrapers
    store the same exemplars); a new exemplar every 2 s, so scrapers every 0.5 s see each."""

    def __init__(self, start_s: float) -> None:
        outer = self
        self.start_s = start_s

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                payload = outer.body().encode()
                with contextlib.suppress(OSError):
                    self.send_response(200)
                    ctype = "application/openmetrics-text; version=1.0.0; charset=utf-8"
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def body(self) -> str:
        step = int((time.time() - self.start_s) / 2)
        ts = self.start_s + step * 2
        return (
            "# TYPE shop_requests counter\n"
            f'shop_requests_total{{path="/a"}} {step} '
            f'# {{trace_id="{TRACE}",span_id="{step:016x}"}} 1 {ts:.3f}\n'
            "# TYPE shop_latency_seconds histogram\n"
            f'shop_latency_seconds_bucket{{le="0.1"}} {step} # {{trace_id="{step:032x}"}} '
            f"0.05 {ts:.3f}\n"
            f'shop_latency_seconds_bucket{{le="+Inf"}} {step}\n'
            f"shop_latency_seconds_sum {step * 0.05}\n"
            f"shop_latency_seconds_count {step}\n"
            "# EOF\n"
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _exemplars(proc: Proc, query: str, **params: Any) -> Any:
    response = httpx.get(
        proc.url + "/api/v1/query_exemplars", params={"query": query, **params}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _by_series(data: list[dict[str, Any]], drop: tuple[str, ...] = ()) -> dict[Any, Any]:
    out = {}
    for item in data:
        key = tuple(sorted((k, v) for k, v in item["seriesLabels"].items() if k not in drop))
        out[key] = {(e["timestamp"], e["value"], tuple(sorted(e["labels"].items())))
                    for e in item["exemplars"]}  # fmt: skip
    return out


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, Proc, float]]:
    tmp = tmp_path_factory.mktemp("exemplars")
    start_s = round(time.time(), 3)
    target = OpenMetricsTarget(start_s)
    config = tmp / "tripod.yaml"
    config.write_text(
        "scrape_configs:\n  - job_name: tripod-om\n    scrape_interval: 500ms\n"
        f"    static_configs: [{{targets: ['{target.address}']}}]\n"
    )
    try:
        with start_tripod_serve(tmp / "data", "--config", str(config)) as tripod:
            prom_config = f"""
global: {{scrape_interval: 500ms, scrape_timeout: 500ms}}
scrape_configs:
  - job_name: om
    static_configs: [{{targets: ["{target.address}"]}}]
remote_write:
  - url: {tripod.url}/api/v1/write
    send_exemplars: true
    queue_config: {{batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 500ms}}
"""
            flags = ("--enable-feature=exemplar-storage",)
            with start_prometheus(tmp / "prom", prom_config, *flags) as prom:
                yield tripod, prom, start_s
    finally:
        target.stop()


def test_scraped_and_remote_written_exemplars_match_prometheus(
    servers: tuple[Proc, Proc, float],
) -> None:
    tripod, prom, _ = servers
    query = "shop_requests_total or shop_latency_seconds_bucket"

    def enough() -> bool:
        found = _exemplars(tripod, query)
        jobs = {item["seriesLabels"]["job"] for item in found or []}
        return jobs == {"om", "tripod-om"} and all(len(i["exemplars"]) >= 2 for i in found)

    wait_for(enough, "exemplars scraped by tripod and remote-written by Prometheus", timeout=60)
    # A window both scrapers have fully seen: from Prometheus's first exemplar (it started
    # after tripod) to a second ago.
    first = min(e["timestamp"] for i in _exemplars(prom, query) for e in i["exemplars"])
    window = {"start": str(first), "end": f"{time.time() - 1.0:.3f}"}
    wait_for(lambda: len(_exemplars(prom, query, **window)) == 2, "Prometheus's exemplars")
    expected = _exemplars(prom, query, **window)
    # Prometheus stores the histogram exemplar on its bucket and the counter's on the series.
    assert {i["seriesLabels"].get("le", "") for i in expected} == {"", "0.1"}
    wait_for(lambda: _by_series(_exemplars(tripod, '{job="om"}', **window))
             == _by_series(expected), "remote write to catch up")  # fmt: skip
    # Same JSON as Prometheus for the remote-written copy, byte for byte once series ordering
    # (by labels) is applied.
    got = _exemplars(tripod, '{job="om"}', **window)
    assert got == expected
    # tripod's own scrape of the same target: same exemplars under its job's name.
    scraped = _exemplars(tripod, '{job="tripod-om"}', **window)
    assert _by_series(scraped, drop=("job",)) == _by_series(expected, drop=("job",))
    sample = expected[0]["exemplars"][0]
    assert isinstance(sample["timestamp"], float | int)
    assert isinstance(sample["value"], str)


@pytest.mark.parametrize(
    "params",
    [
        {"query": "up", "start": "yesterday"},
        {"query": "up", "end": "x"},
        {"query": "up", "start": "200", "end": "100"},
    ],
)
def test_bad_parameters_answer_as_prometheus(
    servers: tuple[Proc, Proc, float], params: dict[str, str]
) -> None:
    tripod, prom, _ = servers
    ours = httpx.get(tripod.url + "/api/v1/query_exemplars", params=params, timeout=10)
    theirs = httpx.get(prom.url + "/api/v1/query_exemplars", params=params, timeout=10)
    assert ours.status_code == theirs.status_code == 400
    assert ours.json()["errorType"] == theirs.json()["errorType"] == "bad_data"
    assert ours.json()["error"] == theirs.json()["error"]


@pytest.mark.parametrize("query", ["sum(rate(up[1m])", ""])
def test_bad_queries_are_bad_data(servers: tuple[Proc, Proc, float], query: str) -> None:
    # tripod's parse errors have their own positions and hints (tests/server/promql).
    tripod, prom, _ = servers
    for proc in (tripod, prom):
        answer = httpx.get(proc.url + "/api/v1/query_exemplars", params={"query": query})
        assert answer.status_code == 400
        assert answer.json()["errorType"] == "bad_data"
        assert answer.json()["error"].startswith("1:")
        assert "parse error" in answer.json()["error"]


def test_a_query_without_selectors_is_204(servers: tuple[Proc, Proc, float]) -> None:
    for proc in servers[:2]:
        answer = httpx.get(proc.url + "/api/v1/query_exemplars", params={"query": "1 + 1"})
        assert answer.status_code == 204
        assert answer.content == b""


def test_otlp_histogram_and_sum_exemplars(servers: tuple[Proc, Proc, float]) -> None:
    tripod, _, _ = servers
    now_ns = time.time_ns()
    req = metrics_pb.ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    kv = rm.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "otlp-shop"
    sm = rm.scope_metrics.add()
    hist = sm.metrics.add()
    hist.name, hist.unit = "checkout.duration", "s"
    hist.histogram.aggregation_temporality = 2
    p = hist.histogram.data_points.add()
    p.time_unix_nano, p.count, p.sum = now_ns, 2, 0.7
    p.explicit_bounds.extend([0.1, 0.5, 1.0])
    p.bucket_counts.extend([1, 0, 1, 0])
    ex = p.exemplars.add()
    ex.time_unix_nano, ex.as_double = now_ns - 1_000_000, 0.65
    ex.trace_id, ex.span_id = bytes.fromhex(TRACE), bytes.fromhex("00f067aa0ba902b7")
    attr = ex.filtered_attributes.add()
    attr.key, attr.value.string_value = "user.tier", "gold"
    total = sm.metrics.add()
    total.name = "orders"
    total.sum.is_monotonic, total.sum.aggregation_temporality = True, 2
    q = total.sum.data_points.add()
    q.time_unix_nano, q.as_int = now_ns, 3
    ex2 = q.exemplars.add()
    ex2.time_unix_nano, ex2.as_int = now_ns, 1
    ex2.trace_id = bytes.fromhex(TRACE)
    headers = {"Content-Type": "application/x-protobuf"}
    response = httpx.post(
        tripod.url + "/v1/metrics", content=req.SerializeToString(), headers=headers, timeout=10
    )
    assert response.is_success, response.text
    found = _exemplars(tripod, '{job="otlp-shop"}')
    series = {i["seriesLabels"]["__name__"] + i["seriesLabels"].get("le", ""): i for i in found}
    assert set(series) == {"checkout_duration_seconds_bucket1", "orders_total"}
    [bucket] = series["checkout_duration_seconds_bucket1"]["exemplars"]
    assert bucket["labels"] == {"trace_id": TRACE, "span_id": "00f067aa0ba902b7",
                                "user_tier": "gold"}  # fmt: skip
    assert bucket["value"] == "0.65"
    assert bucket["timestamp"] == round((now_ns - 1_000_000) // 1_000_000 / 1000, 3)
    [counted] = series["orders_total"]["exemplars"]
    assert counted["labels"] == {"trace_id": TRACE}
    assert counted["value"] == "1"
