"""The Prometheus HTTP API and `tripod query`, against a real `tripod serve` on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.procs import Proc, start_tripod_serve

pytestmark = [pytest.mark.e2e]

T0 = 1_700_000_000


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    root: Path = tmp_path_factory.mktemp("promql-api")
    proc = start_tripod_serve(root / "data", "--retention-time", "0")
    try:
        lines = ["# TYPE http_requests_total counter"]
        for t in range(0, 600, 15):
            for job, rate in (("api", 2), ("worker", 1)):
                lines.append(f'http_requests_total{{job="{job}"}} {t * rate} {(T0 + t) * 1000}')
        body = "\n".join(lines) + "\n"
        response = httpx.post(proc.url + "/api/v1/import/prometheus", content=body, timeout=30)
        assert response.status_code in (200, 204), response.text
        yield proc
    finally:
        proc.stop()


def get(proc: Proc, path: str, **params: str) -> httpx.Response:
    return httpx.get(proc.url + path, params=params, timeout=30)


def test_instant_query_vector_shape(serve: Proc) -> None:
    r = get(
        serve,
        "/api/v1/query",
        query="sum by (job) (rate(http_requests_total[5m]))",
        time=str(T0 + 590),
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "vector"
    got = {s["metric"]["job"]: s["value"] for s in body["data"]["result"]}
    assert {job: value[0] for job, value in got.items()} == {"api": T0 + 590, "worker": T0 + 590}
    assert {job: round(float(value[1]), 9) for job, value in got.items()} == {"api": 2, "worker": 1}


def test_range_query_matrix_shape_and_post_form(serve: Proc) -> None:
    form = {
        "query": 'http_requests_total{job="api"}',
        "start": str(T0 + 60),
        "end": str(T0 + 120),
        "step": "30s",
    }
    r = httpx.post(serve.url + "/api/v1/query_range", data=form, timeout=30)
    body = r.json()
    assert body["data"]["resultType"] == "matrix"
    [series] = body["data"]["result"]
    assert series["metric"] == {"__name__": "http_requests_total", "job": "api"}
    assert series["values"] == [[T0 + 60, "120"], [T0 + 90, "180"], [T0 + 120, "240"]]


def test_instant_range_vector_returns_raw_samples(serve: Proc) -> None:
    r = get(serve, "/api/v1/query", query='http_requests_total{job="api"}[30s]', time=str(T0 + 60))
    [series] = r.json()["data"]["result"]
    assert r.json()["data"]["resultType"] == "matrix"
    assert series["values"] == [[T0 + 30, "60"], [T0 + 45, "90"], [T0 + 60, "120"]]


def test_scalar_and_string_results(serve: Proc) -> None:
    r = get(serve, "/api/v1/query", query="1.5 * 2", time="2015-07-01T20:10:51.781Z")
    assert r.json()["data"] == {"resultType": "scalar", "result": [1435781451.781, "3"]}
    r = get(serve, "/api/v1/query", query='"hi"', time="100")
    assert r.json()["data"] == {"resultType": "string", "result": [100, "hi"]}
    r = get(serve, "/api/v1/query", query="1/0 - 1/0", time="100")
    assert r.json()["data"]["result"][1] == "NaN"


@pytest.mark.parametrize(
    ("path", "params", "status", "error_type", "fragment"),
    [
        (
            "/api/v1/query",
            {"query": "sum(", "time": "1"},
            400,
            "bad_data",
            'invalid parameter "query": 1:4: parse error',
        ),
        (
            "/api/v1/query",
            {"query": "up", "time": "yesterday"},
            400,
            "bad_data",
            'invalid parameter "time"',
        ),
        (
            "/api/v1/query_range",
            {"query": "up", "start": "10", "end": "1", "step": "1"},
            400,
            "bad_data",
            "end timestamp must not be before start time",
        ),
        (
            "/api/v1/query_range",
            {"query": "up", "start": "0", "end": "100000", "step": "1"},
            400,
            "bad_data",
            "exceeded maximum resolution of 11,000 points",
        ),
        (
            "/api/v1/query_range",
            {"query": "up", "start": "0", "end": "1", "step": "0"},
            400,
            "bad_data",
            "zero or negative query resolution step",
        ),
        (
            "/api/v1/query_range",
            {"query": "up[5m]", "start": "0", "end": "1", "step": "1"},
            400,
            "bad_data",
            'invalid expression type "range vector"',
        ),
        (
            "/api/v1/query",
            {"query": "http_requests_total + on() http_requests_total", "time": str(T0 + 60)},
            422,
            "execution",
            "many-to-many",
        ),
        ("/api/v1/series", {}, 400, "bad_data", "no match[] parameter provided"),
        ("/api/v1/label/0bad/values", {}, 400, "bad_data", "invalid label name"),
    ],
)
def test_errors_are_prometheus_shaped(
    serve: Proc, path: str, params: dict[str, str], status: int, error_type: str, fragment: str
) -> None:
    r = get(serve, path, **params)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == "error"
    assert body["errorType"] == error_type
    assert fragment in body["error"]


def test_timeout_is_prometheus_shaped(serve: Proc) -> None:
    r = get(serve, "/api/v1/query", query="sum(http_requests_total)", time=str(T0 + 60),
            timeout="0.000001")  # fmt: skip
    assert r.status_code == 503
    assert r.json() == {"status": "error", "errorType": "timeout",
                        "error": "query timed out in expression evaluation"}  # fmt: skip


def test_max_samples_from_config(tmp_path: Path) -> None:
    config = tmp_path / "tripod.yaml"
    config.write_text("limits:\n  query_max_samples: 3\n")
    proc = start_tripod_serve(tmp_path / "data", "--retention-time", "0", "--config", str(config))
    try:
        body = "".join(f"g {i} {(T0 + i * 15) * 1000}\n" for i in range(10))
        httpx.post(proc.url + "/api/v1/import/prometheus", content=body, timeout=30)
        r = get(proc, "/api/v1/query", query="sum_over_time(g[5m])", time=str(T0 + 150))
        assert r.status_code == 422
        assert r.json()["errorType"] == "execution"
        assert "too many samples" in r.json()["error"]
    finally:
        proc.stop()


def test_metadata_endpoints(serve: Proc) -> None:
    r = httpx.get(
        serve.url + "/api/v1/series",
        params={"match[]": "http_requests_total", "start": str(T0), "end": str(T0 + 600)},
    )
    assert sorted(s["job"] for s in r.json()["data"]) == ["api", "worker"]
    assert "job" in get(serve, "/api/v1/labels").json()["data"]
    assert get(serve, "/api/v1/label/job/values").json()["data"] == ["api", "worker"]
    info = get(serve, "/api/v1/status/buildinfo").json()["data"]
    assert info["version"].startswith("2.")
    r = get(serve, "/api/v1/format_query", query="sum(rate(x[5m]))by(job)")
    assert r.json()["data"] == "sum by (job) (rate(x[5m]))"
    assert get(serve, "/api/v1/query_exemplars", query="up").json()["data"] == []


def test_post_form_match_and_query_metrics(serve: Proc) -> None:
    form = {"match[]": 'http_requests_total{job="worker"}', "start": str(T0), "end": str(T0 + 60)}
    r = httpx.post(serve.url + "/api/v1/series", data=form, timeout=30)
    assert r.json()["data"] == [{"__name__": "http_requests_total", "job": "worker"}]
    r = httpx.post(serve.url + "/api/v1/labels", data={"match[]": "nope"}, timeout=30)
    assert r.json() == {"status": "success", "data": []}
    metrics = httpx.get(serve.url + "/metrics", timeout=30).text
    assert 'tripod_server_query_duration_seconds_count{api="query"}' in metrics


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tripod", "query", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_table_json_and_errors(serve: Proc) -> None:
    out = _cli(
        "sum by (job) (rate(http_requests_total[5m]))", "--url", serve.url, "--at", str(T0 + 590)
    )
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()]
    assert [(label, round(float(value), 9)) for label, value in rows] == [
        ('{job="api"}', 2.0),
        ('{job="worker"}', 1.0),
    ]
    out = _cli(
        "http_requests_total",
        "--url",
        serve.url,
        "--start",
        str(T0),
        "--end",
        str(T0 + 30),
        "--step",
        "15s",
        "-o",
        "json",
    )
    assert out.returncode == 0
    assert '"resultType": "matrix"' in out.stdout
    out = _cli("sum(", "--url", serve.url)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "bad_data" in out.stderr
    assert "Traceback" not in out.stderr


def test_subquery_without_step_uses_global_evaluation_interval(serve: Proc, tmp_path: Path) -> None:
    query = 'count_over_time(http_requests_total{job="api"}[2m:])'
    config = tmp_path / "tripod.yaml"
    config.write_text("global:\n  evaluation_interval: 20s\n")
    lines = [f'http_requests_total{{job="api"}} {t} {(T0 + t) * 1000}' for t in range(0, 600, 15)]
    with start_tripod_serve(
        tmp_path / "data", "--retention-time", "0", "--config", str(config)
    ) as proc:
        response = httpx.post(
            proc.url + "/api/v1/import/prometheus", content="\n".join(lines) + "\n", timeout=30
        )
        assert response.status_code in (200, 204), response.text
        r = get(proc, "/api/v1/query", query=query, time=str(T0 + 590))
        # multiples of 20 s within [T0 + 470, T0 + 590]: T0 + 480, 500, ..., 580
        assert r.json()["data"]["result"][0]["value"][1] == "6"
    # the default interval, one minute: T0 + 520 and T0 + 580 (T0 is 20 s past a minute)
    r = get(serve, "/api/v1/query", query=query, time=str(T0 + 590))
    assert r.json()["data"]["result"][0]["value"][1] == "2"
