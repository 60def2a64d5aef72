"""A real `tripod serve` scraping real targets: an app instrumented with the tripod SDK (in its
own process), a static exposition file behind an in-test HTTP server, a hanging target, and
file-SD targets that go away. What was stored is read back from the stopped server's store."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.procs import Proc, free_port, start_tripod_serve
from tests.helpers.scrape import ExpositionServer, read_store, self_metric, wait_for
from tripod.server.ingest.scrape import ACCEPT
from tripod.server.store import is_stale

pytestmark = pytest.mark.e2e

STATIC = """\
# HELP shop_orders_total Orders placed.
# TYPE shop_orders_total counter
shop_orders_total{region="eu",note="a \\"quoted\\" \\\\ value"} 17
shop_orders_total{region="us",note=""} 4
# HELP shop_latency_seconds Checkout latency.
# TYPE shop_latency_seconds histogram
shop_latency_seconds_bucket{le="0.1"} 2
shop_latency_seconds_bucket{le="+Inf"} 5
shop_latency_seconds_sum 1.25
shop_latency_seconds_count 5
shop_temperature -3.5e-1
"""

APP = """\
import http.server, sys
from tripod.sdk import metrics

metrics.counter("demo_requests", "Demo requests.", ["route"]).labels(route="/a").inc(3)
metrics.gauge("demo_temperature", "Room temperature.", unit="celsius").set(21.5)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body, content_type = metrics.render(self.headers.get("Accept"))
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@pytest.fixture
def exposition_servers() -> Iterator[Callable[..., ExpositionServer]]:
    made: list[ExpositionServer] = []

    def make(body: str = STATIC, delay_s: float = 0.0) -> ExpositionServer:
        made.append(ExpositionServer(body, delay_s))
        return made[-1]

    yield make
    for server in made:
        server.stop()


def real(values: Any) -> list[float]:
    """The values that are not staleness markers."""
    return [v for v in values.tolist() if not is_stale(v)]


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tripod.yml"
    path.write_text(text)
    return path


def test_scrapes_sdk_app_static_file_and_survives_a_hanging_target(
    tmp_path: Path, exposition_servers: Callable[..., ExpositionServer]
) -> None:
    static = exposition_servers()
    hanging = exposition_servers(delay_s=5.0)
    app_port = free_port()
    script = tmp_path / "app.py"
    script.write_text(APP)
    app = Proc([sys.executable, str(script), str(app_port)], f"http://127.0.0.1:{app_port}",
               tmp_path / "app.log")  # fmt: skip
    app.wait_ready("/metrics")
    config = _config(
        tmp_path,
        f"""
scrape_configs:
  - job_name: app
    scrape_interval: 300ms
    static_configs: [{{targets: ["127.0.0.1:{app_port}"], labels: {{team: core}}}}]
  - job_name: static
    scrape_interval: 300ms
    static_configs: [{{targets: ["{static.address}"]}}]
  - job_name: hanging
    scrape_interval: 400ms
    scrape_timeout: 200ms
    static_configs: [{{targets: ["{hanging.address}"]}}]
""",
    )
    data = tmp_path / "data"
    with app, start_tripod_serve(data, "--config", str(config), "--retention-time", "0") as proc:
        wait_for(
            lambda: (
                self_metric(proc, "tripod_server_scrapes_total", job="app", outcome="success") >= 3
                and self_metric(
                    proc, "tripod_server_scrapes_total", job="static", outcome="success"
                )
                >= 3
            ),
            "three scrapes of the app and the static file",
        )
        # The hanging target times out again and again while the others keep being scraped.
        wait_for(
            lambda: (
                self_metric(proc, "tripod_server_scrapes_total", job="hanging", outcome="failure")
                >= 2
            ),
            "the hanging target to time out twice",
        )
        assert (
            self_metric(proc, "tripod_server_scrapes_total", job="hanging", outcome="success") == 0
        )
        targets = httpx.get(proc.url + "/api/v1/targets").json()["data"]["activeTargets"]
        by_job = {t["scrapePool"]: t for t in targets}
        assert by_job["hanging"]["health"] == "down"
        assert "timed out after 0.2s" in by_job["hanging"]["lastError"]
        assert by_job["static"]["health"] == "up"
        assert by_job["static"]["scrapeUrl"] == f"http://{static.address}/metrics"
        assert by_job["static"]["labels"] == {"job": "static", "instance": static.address}
        assert by_job["app"]["labels"]["team"] == "core"
        assert by_job["app"]["scrapeInterval"] == "300ms"
        app.stop()  # the app goes away: its next scrape fails
        wait_for(
            lambda: (
                self_metric(proc, "tripod_server_scrapes_total", job="app", outcome="failure") >= 2
            ),
            "two failed scrapes of the stopped app",
        )
        # Through the PromQL API: the app's series ended (staleness marker), its `up` is 0.
        query = proc.url + "/api/v1/query"
        assert httpx.get(query, params={"query": "demo_requests_total"}).json()["data"] == {
            "resultType": "vector",
            "result": [],
        }
        (up_app,) = httpx.get(query, params={"query": 'up{job="app"}'}).json()["data"]["result"]
        assert up_app["value"][1] == "0"
    assert static.accept[0] == ACCEPT

    series, metadata = read_store(data)
    instance = static.address
    orders = {s.labels["region"]: s for s in series["shop_orders_total"]}
    assert orders["eu"].labels == {
        "__name__": "shop_orders_total",
        "region": "eu",
        "note": 'a "quoted" \\ value',
        "job": "static",
        "instance": instance,
    }
    assert "note" not in orders["us"].labels  # empty label values are no labels
    # (On a badly overloaded machine a scrape can time out, adding stale markers: skip those.)
    assert set(real(orders["eu"].values)) == {17.0}
    buckets = {s.labels["le"]: set(real(s.values)) for s in series["shop_latency_seconds_bucket"]}
    assert buckets == {"0.1": {2.0}, "+Inf": {5.0}}
    assert set(real(series["shop_temperature"][0].values)) == {-0.35}
    scraped = {s.labels["job"]: s for s in series["scrape_samples_scraped"]}
    assert 7.0 in scraped["static"].values.tolist()
    assert metadata["shop_orders_total"] == [
        {"type": "counter", "help": "Orders placed.", "unit": ""}
    ]

    up = {s.labels["job"]: s.values.tolist() for s in series["up"]}
    assert up["static"].count(1.0) >= 3
    assert set(up["hanging"]) == {0.0}
    assert up["app"].count(1.0) >= 3
    assert up["app"][-1] == 0.0

    (demo,) = series["demo_requests_total"]
    assert demo.labels == {"__name__": "demo_requests_total", "route": "/a", "team": "core",
                           "job": "app", "instance": f"127.0.0.1:{app_port}"}  # fmt: skip
    values = demo.values.tolist()
    assert values[0] == 3.0
    assert is_stale(values[-1])  # the failed scrape marked the app's series stale
    assert set(real(demo.values)) == {3.0}
    (temp,) = series["demo_temperature_celsius"]
    assert temp.values.tolist()[0] == 21.5
    assert metadata["demo_temperature_celsius"][0]["type"] == "gauge"


def test_target_removed_from_file_sd_gets_stale_markers(
    tmp_path: Path, exposition_servers: Callable[..., ExpositionServer]
) -> None:
    kept = exposition_servers("kept_metric 1\n")
    gone = exposition_servers("gone_metric 2\n")
    targets = tmp_path / "targets.json"
    targets.write_text(
        json.dumps([{"targets": [kept.address, gone.address, "skip.me:1"], "labels": {"sd": "1"}}])
    )
    config = _config(
        tmp_path,
        f"""
scrape_configs:
  - job_name: sd
    scrape_interval: 300ms
    file_sd_configs: [{{files: ["{targets}"], refresh_interval: 200ms}}]
    relabel_configs: [{{action: drop, source_labels: [__address__], regex: 'skip\\.me:.*'}}]
""",
    )
    data = tmp_path / "data"
    with start_tripod_serve(data, "--config", str(config), "--retention-time", "0") as proc:
        wait_for(lambda: kept.requests >= 2 and gone.requests >= 2, "two scrapes of each target")
        assert self_metric(proc, "tripod_server_scrape_targets", job="sd") == 2
        api = httpx.get(proc.url + "/api/v1/targets").json()["data"]
        (dropped,) = api["droppedTargets"]
        assert dropped["discoveredLabels"]["__address__"] == "skip.me:1"
        assert dropped["discoveredLabels"]["__meta_filepath"] == str(targets)
        assert httpx.get(proc.url + "/api/v1/targets?state=bogus").status_code == 400
        targets.write_text(json.dumps([{"targets": [kept.address], "labels": {"sd": "1"}}]))
        wait_for(
            lambda: self_metric(proc, "tripod_server_scrape_targets", job="sd") == 1,
            "the removed target to be dropped",
        )
        (left,) = httpx.get(proc.url + "/api/v1/targets").json()["data"]["activeTargets"]
        assert left["labels"]["instance"] == kept.address
        seen = kept.requests
        wait_for(lambda: kept.requests >= seen + 2, "two more scrapes of the kept target")

    series, _ = read_store(data)
    (gone_series,) = series["gone_metric"]
    assert gone_series.labels["instance"] == gone.address
    assert gone_series.labels["sd"] == "1"
    assert gone_series.values.tolist()[0] == 2.0
    assert is_stale(gone_series.values.tolist()[-1])
    gone_up = [s for s in series["up"] if s.labels["instance"] == gone.address]
    assert is_stale(gone_up[0].values.tolist()[-1])
    (kept_series,) = series["kept_metric"]
    assert not any(is_stale(v) for v in kept_series.values.tolist())


@pytest.mark.parametrize(
    ("yaml_text", "needle"),
    [
        ("scrape_configs:\n  - job_name: web\n    scrape_interval: soon\n", "'web'"),
        ("scrape_configs:\n  - job_name: web\n    relabel_configs: [{action: nope}]\n", "action"),
        ("scrape_configs:\n  - job_name: web\n    basic_auth: {username: u}\n", "basic_auth"),
    ],
)
def test_bad_scrape_config_exits_2_with_one_line(
    tmp_path: Path, yaml_text: str, needle: str
) -> None:
    config = _config(tmp_path, yaml_text)
    argv = [sys.executable, "-m", "tripod", "serve", "--data-dir", str(tmp_path / "d"),
            "--port", str(free_port()), "--config", str(config)]  # fmt: skip
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert needle in lines[0]
    assert "Traceback" not in done.stderr
