"""A real Prometheus 2.x scrapes a target and remote-writes to a real `tripod serve`: the same
series and samples end up in tripod as in Prometheus, including the staleness markers
Prometheus writes when the target goes away, and the metric metadata it sends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.procs import Proc, start_prometheus, start_tripod_serve
from tests.helpers.scrape import ExpositionServer, read_store, self_metric, wait_for
from tripod.server.store import is_stale

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]


def _target_body(n: int) -> str:
    return (
        "# HELP ticks_total Scrapes served.\n# TYPE ticks_total counter\n"
        f'ticks_total{{path="/x"}} {n}\n'
        "# HELP room_celsius Room temperature.\n# TYPE room_celsius gauge\n"
        f"room_celsius {20 + n / 4}\n"
    )


def _query(prom: Proc, expr: str) -> list[dict]:  # type: ignore[type-arg]
    response = httpx.get(prom.url + "/api/v1/query", params={"query": expr}, timeout=10)
    response.raise_for_status()
    result: list[dict] = response.json()["data"]["result"]  # type: ignore[type-arg]
    return result


def _prom_metric(prom: Proc, name: str) -> float:
    text = httpx.get(prom.url + "/metrics", timeout=10).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                total += float(sample.value)
    return total


def test_prometheus_remote_write_round_trip(tmp_path: Path) -> None:
    target = ExpositionServer(_target_body)
    try:
        with start_tripod_serve(tmp_path / "data", "--retention-time", "0") as tripod:
            config = f"""
global: {{scrape_interval: 500ms, scrape_timeout: 500ms}}
scrape_configs:
  - job_name: static
    static_configs: [{{targets: ["{target.address}"], labels: {{team: core}}}}]
remote_write:
  - url: {tripod.url}/api/v1/write
    remote_timeout: 5s
    queue_config: {{batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 500ms}}
    metadata_config: {{send: true, send_interval: 1s}}
"""
            with start_prometheus(tmp_path / "prom", config) as prom:
                expected, failed_ms = _exchange(prom, tripod, target.stop)
    finally:
        target.stop()
    _compare(tmp_path / "data", expected, failed_ms)


Series = dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]


def _exchange(prom: Proc, tripod: Proc, stop_target: Callable[[], None]) -> tuple[Series, int]:
    """Let Prometheus scrape and send, stop its target, wait until all is sent; returns
    Prometheus's raw samples per series and when it saw the target fail."""
    wait_for(
        lambda: bool(_query(prom, 'count_over_time(ticks_total{job="static"}[5m]) >= 4')),
        "Prometheus to scrape the target four times",
    )
    wait_for(lambda: _prom_metric(prom, "prometheus_remote_storage_metadata_total") > 0,
             "Prometheus to send metadata")  # fmt: skip
    stop_target()
    wait_for(
        lambda: bool(_query(prom, 'up{job="static"} == 0')),
        "Prometheus to notice the target is gone",
    )
    (failed,) = _query(prom, 'timestamp(up{job="static"} == 0)')
    failed_ms = round(float(failed["value"][1]) * 1000)
    wait_for(
        lambda: (
            _prom_metric(prom, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds")
            * 1000
            >= failed_ms + 1000
        ),
        "Prometheus to send everything up to a second after the failed scrape",
    )
    assert self_metric(tripod, "tripod_server_ingested_total", source="remote_write") > 0
    assert self_metric(tripod, "tripod_server_rejected_total", signal="samples") == 0
    at = failed_ms / 1000
    response = httpx.get(
        prom.url + "/api/v1/query", params={"query": '{job="static"}[10m]', "time": at}, timeout=10
    )
    expected: Series = {}
    for item in response.json()["data"]["result"]:
        key = tuple(sorted(item["metric"].items()))
        expected[key] = [(round(float(t) * 1000), float(v)) for t, v in item["values"]]
    # The same PromQL asked of tripod's Prometheus-compatible API gives the same raw samples.
    ours = httpx.get(
        tripod.url + "/api/v1/query",
        params={"query": '{job="static"}[10m]', "time": at},
        timeout=10,
    ).json()
    assert ours["status"] == "success", ours
    assert ours["data"]["resultType"] == "matrix"
    got = {
        tuple(sorted(item["metric"].items())): [
            (round(float(t) * 1000), float(v)) for t, v in item["values"]
        ]
        for item in ours["data"]["result"]
    }
    assert got == expected
    # After the staleness marker, an instant query finds the series gone, as in Prometheus.
    later = {"query": 'ticks_total{job="static"}', "time": at + 1.0}
    prom_later = httpx.get(prom.url + "/api/v1/query", params=later, timeout=10).json()
    ours_later = httpx.get(tripod.url + "/api/v1/query", params=later, timeout=10).json()
    assert prom_later["data"]["result"] == []
    assert ours_later["data"] == prom_later["data"]
    return expected, failed_ms


def _compare(data: Path, prom_series: Series, failed_ms: int) -> None:
    by_name, metadata = read_store(data)
    ours = {tuple(sorted(s.labels.items())): s for series in by_name.values() for s in series}
    assert prom_series, "Prometheus returned no series"
    for key, expected in prom_series.items():
        assert key in ours, f"series {dict(key)} is missing from tripod"
        s = ours[key]
        got = [
            (int(t), float(v))
            for t, v in zip(s.timestamps.tolist(), s.values.tolist(), strict=True)
            if not is_stale(v) and t <= failed_ms
        ]
        assert got == expected, dict(key)
    ticks = ours[(("__name__", "ticks_total"), ("instance", _instance(prom_series)),
                  ("job", "static"), ("path", "/x"), ("team", "core"))]  # fmt: skip
    stale = [t for t, v in zip(ticks.timestamps.tolist(), ticks.values.tolist(), strict=True)
             if is_stale(v)]  # fmt: skip
    # Prometheus's staleness marker for the failed scrape, stored as one, after the last value.
    # (Only one unless an overloaded machine made one of Prometheus's scrapes time out.)
    assert stale
    last_value_ms = prom_series[tuple(sorted(ticks.labels.items()))][-1][0]
    assert last_value_ms < stale[-1] <= failed_ms + 1000
    assert metadata["ticks_total"] == [{"type": "counter", "help": "Scrapes served.", "unit": ""}]
    assert metadata["room_celsius"][0]["type"] == "gauge"


def _instance(series: Series) -> str:
    for key in series:
        return dict(key)["instance"]
    raise AssertionError("no series")
