"""The query API's parameters, taken as Prometheus takes them: same answers, same errors.

Times as unix seconds or RFC 3339, steps as seconds or durations, GET and POST form, and the
parameter errors (missing query, end before start, zero step, too many points, bad time).
"""

from __future__ import annotations

import httpx
import pytest

from tests.conformance.compare import diff
from tests.conformance.conftest import Env, prom_only
from tests.conformance.harness import Answer, Backend

pytestmark = [pytest.mark.conformance, pytest.mark.prometheus]

Q = "sum by (job) (rate(conf_http_requests_total[5m]))"
START = "2024-01-01T00:30:00Z"
# (path, params) pairs; the same request goes to both servers.
REQUESTS: list[tuple[str, dict[str, str]]] = [
    ("/api/v1/query", {"query": Q, "time": "2024-01-01T01:07:01.5Z"}),
    ("/api/v1/query", {"query": Q, "time": "2024-01-01T02:07:01+01:00"}),
    ("/api/v1/query", {"query": Q, "time": "1704071221.5"}),
    ("/api/v1/query", {"query": "conf_up", "time": "1704071221"}),
    ("/api/v1/query", {"query": "conf_up"}),
    ("/api/v1/query", {"time": "1704071221"}),
    ("/api/v1/query", {"query": Q, "time": "yesterday"}),
    ("/api/v1/query", {"query": Q, "time": "1704071221", "timeout": "1m"}),
    ("/api/v1/query", {"query": Q, "time": "1704071221", "timeout": "bad"}),
    (
        "/api/v1/query_range",
        {"query": Q, "start": START, "end": "2024-01-01T01:00:00Z", "step": "1m"},
    ),
    (
        "/api/v1/query_range",
        {"query": Q, "start": "1704069000", "end": "1704070800", "step": "90"},
    ),
    (
        "/api/v1/query_range",
        {"query": Q, "start": "1704069000", "end": "1704070800", "step": "1m30s"},
    ),
    (
        "/api/v1/query_range",
        {"query": Q, "start": "1704069000", "end": "1704070800", "step": "0.5s"},
    ),
    (
        "/api/v1/query_range",
        {"query": Q, "start": "1704070800", "end": "1704069000", "step": "60"},
    ),
    (
        "/api/v1/query_range",
        {"query": Q, "start": "1704069000", "end": "1704070800", "step": "0"},
    ),
    (
        "/api/v1/query_range",
        {"query": Q, "start": "1704069000", "end": "1704070800", "step": "-15"},
    ),
    (
        "/api/v1/query_range",
        {"query": Q, "start": "1704000000", "end": "1704078000", "step": "1"},
    ),
    ("/api/v1/query_range", {"query": Q, "start": "1704069000", "end": "1704070800"}),
    ("/api/v1/query_range", {"query": Q, "start": "x", "end": "1704070800", "step": "60"}),
    (
        "/api/v1/query_range",
        {"query": "sum(", "start": "1704069000", "end": "1704070800", "step": "60"},
    ),
]


def _ask(backend: Backend, path: str, params: dict[str, str], post: bool) -> Answer:
    if post:
        return Answer.from_response(backend.client.post(path, data=params))
    return Answer.from_response(backend.client.get(path, params=params))


@pytest.mark.parametrize("post", [False, True], ids=["GET", "POST"])
@pytest.mark.parametrize(
    ("path", "params"), REQUESTS, ids=[f"r{i:02d}" for i in range(len(REQUESTS))]
)
def test_same_answer(path: str, params: dict[str, str], post: bool, conformance_env: Env) -> None:
    ref = _ask(conformance_env.prometheus, path, params, post)
    if conformance_env.tripod is None or prom_only():
        assert ref.status in ("success", "error")
        return
    got = _ask(conformance_env.tripod, path, params, post)
    if "time" not in params and path == "/api/v1/query":
        # Evaluated at "now" on each server a moment apart: compare the shape only.
        assert (got.status, got.result_type) == (ref.status, ref.result_type)
        return
    lines = diff(ref, got)
    assert not lines, f"{path} {params}:\n  " + "\n  ".join(lines)


WINDOW = {"start": "1704067200", "end": "1704078300"}
# The metadata endpoints Grafana calls for its query editor, over the backfilled (2024) data.
METADATA: list[tuple[str, list[tuple[str, str]]]] = [
    ("/api/v1/labels", [*WINDOW.items()]),
    ("/api/v1/labels", [*WINDOW.items(), ("match[]", "conf_up")]),
    ("/api/v1/labels", [*WINDOW.items(), ("match[]", '{__name__=~"conf_(up|build_info)"}')]),
    ("/api/v1/label/job/values", [*WINDOW.items()]),
    ("/api/v1/label/__name__/values", [*WINDOW.items()]),
    ("/api/v1/label/le/values", [*WINDOW.items(), ("match[]", "conf_edge_bucket")]),
    ("/api/v1/label/v/values", [*WINDOW.items()]),
    ("/api/v1/label/nonexistent/values", [*WINDOW.items()]),
    ("/api/v1/series", [*WINDOW.items(), ("match[]", "conf_up")]),
    (
        "/api/v1/series",
        [
            *WINDOW.items(),
            ("match[]", 'conf_temperature_celsius{job="api"}'),
            ("match[]", "conf_up"),
        ],
    ),
    ("/api/v1/series", [*WINDOW.items(), ("match[]", "conf_label_escape")]),
    ("/api/v1/series", [*WINDOW.items(), ("match[]", '{job=~"w.*",__name__=~"conf_q.*"}')]),
    ("/api/v1/series", [*WINDOW.items()]),
    ("/api/v1/series", [*WINDOW.items(), ("match[]", "sum(conf_up)")]),
    ("/api/v1/series", [*WINDOW.items(), ("match[]", '{job=""}')]),
]


def _normalise(data: object) -> object:
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return sorted(sorted(d.items()) for d in data)
    return data


@pytest.mark.parametrize(
    ("path", "params"), METADATA, ids=[f"m{i:02d}" for i in range(len(METADATA))]
)
def test_same_metadata(path: str, params: list[tuple[str, str]], conformance_env: Env) -> None:
    query = httpx.QueryParams(tuple(params))
    ref = conformance_env.prometheus.client.get(path, params=query)
    if conformance_env.tripod is None or prom_only():
        assert ref.json()["status"] in ("success", "error")
        return
    got = conformance_env.tripod.client.get(path, params=query)
    ref_body, got_body = ref.json(), got.json()
    shown = (f"{path} {params}\n  prometheus {ref.status_code} {str(ref_body)[:300]}\n"
             f"  tripod     {got.status_code} {str(got_body)[:300]}")  # fmt: skip
    assert (got.status_code, got_body.get("status")) == (ref.status_code, ref_body["status"]), shown
    if ref_body["status"] == "error":
        assert got_body.get("errorType") == ref_body.get("errorType"), shown
        return
    assert _normalise(got_body.get("data")) == _normalise(ref_body["data"]), shown


# What Grafana's Prometheus datasource sends on "Save & test" and when it opens a panel editor,
# besides the queries above: the same request to both servers must get the same kind of answer.
GRAFANA: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/api/v1/status/buildinfo", {}),
    ("POST", "/api/v1/query", {"query": "1+1", "time": "1704071221"}),
    ("POST", "/api/v1/query", {"query": "vector(1)", "time": "1704071221.123"}),
    ("POST", "/api/v1/query_exemplars", {"query": "conf_up", **WINDOW}),
    ("GET", "/api/v1/metadata", {"limit": "1"}),
    ("GET", "/api/v1/format_query", {"query": "sum(rate(conf_up[5m]))by(job)"}),
    ("GET", "/api/v1/format_query", {"query": "sum("}),
]


@pytest.mark.parametrize(
    ("method", "path", "params"), GRAFANA, ids=[f"g{i:02d}" for i in range(len(GRAFANA))]
)
def test_grafana_datasource_requests(
    method: str, path: str, params: dict[str, str], conformance_env: Env
) -> None:
    def ask(backend: Backend) -> httpx.Response:
        if method == "POST":
            return backend.client.post(path, data=params)
        return backend.client.get(path, params=params)

    ref = ask(conformance_env.prometheus)
    if conformance_env.tripod is None or prom_only():
        assert ref.json()["status"] in ("success", "error")
        return
    got = ask(conformance_env.tripod)
    ref_body, got_body = ref.json(), got.json()
    assert (got.status_code, got_body["status"]) == (ref.status_code, ref_body["status"])
    if ref_body["status"] == "error":
        assert got_body["errorType"] == ref_body["errorType"]
        return
    ref_data, got_data = ref_body["data"], got_body["data"]
    assert type(got_data) is type(ref_data)
    if path == "/api/v1/status/buildinfo":
        assert set(ref_data) <= set(got_data)  # version, revision, branch, goVersion, ...
        assert got_data["version"].split(".")[0] == "2"
    elif path in ("/api/v1/query", "/api/v1/format_query"):
        assert got_data == ref_data
    elif path == "/api/v1/metadata":
        # Blocks made by promtool carry no metadata; the import does: compare the shape only.
        assert len(got_data) <= 1
        for entries in got_data.values():
            assert {"type", "help", "unit"} <= set(entries[0])
