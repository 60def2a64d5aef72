"""The APIs the web UI reads, on a real `tripod serve` over loopback: the column-wise trace
(equal to the JSON form), one span's details, service/operation lists, trace and log paging
(every row exactly once), the log tail, log<->trace links for records the tripod SDK sent, and
bounded lists (400 above the limit, 400 on bad input, never 5xx)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.procs import Proc, start_tripod_serve
from tests.server.query.tracegen import BASE_NS, big_trace, log_records
from tests.server.support import get

BIG = "ab" * 16
N_BIG = 600
SDK_APP = Path(__file__).with_name("tripod_app.py")


def post(proc: Proc, path: str, body: dict[str, Any]) -> None:
    r = httpx.post(proc.url + path, json=body, timeout=30)
    assert r.status_code == 200, r.text
    assert "rejected" not in r.text, r.text


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, dict[str, str]]]:
    """A server fed by one tripod SDK run, a 600-span trace, 23 small traces and 230 logs."""
    with start_tripod_serve(tmp_path_factory.mktemp("ui-api") / "data") as proc:
        done = subprocess.run([sys.executable, str(SDK_APP), proc.url], capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        ids = json.loads(done.stdout.strip().splitlines()[-1])
        post(proc, "/v1/traces", big_trace(BIG, N_BIG))
        smalls = [
            big_trace(f"{i + 1:032x}", 3, seed=i, base_ns=BASE_NS + (i // 2) * 10**9)
            for i in range(23)
        ]
        post(proc, "/v1/traces", {"resourceSpans": [r for t in smalls for r in t["resourceSpans"]]})
        bodies = [f"line {i}" for i in range(230)]
        post(proc, "/v1/logs", log_records("pager", bodies, trace_id=BIG, span_id=f"{2:016x}"))
        yield proc, ids


def columns(proc: Proc, trace_id: str, **params: Any) -> dict[str, Any]:
    return get(proc, f"/api/v1/traces/{trace_id}", format="columns", **params)  # type: ignore[no-any-return]


def test_columns_equal_the_json_form(server: tuple[Proc, dict[str, str]]) -> None:
    proc, _ = server
    spans = get(proc, f"/api/v1/traces/{BIG}")["spans"]
    data = columns(proc, BIG)
    c = data["columns"]
    assert data["spanCount"] == len(spans) == N_BIG
    assert data["truncated"] is False
    t0 = int(data["startTimeUnixNano"])
    assert t0 == min(int(s["start_time_unix_nano"]) for s in spans)
    assert int(data["endTimeUnixNano"]) == max(int(s["end_time_unix_nano"]) for s in spans)
    rebuilt = [
        {
            "span_id": c["spanId"][i],
            "parent_span_id": c["spanId"][c["parentIdx"][i]] if c["parentIdx"][i] >= 0 else "",
            "name": data["names"][c["name"][i]],
            "service": data["services"][c["service"][i]],
            "kind": data["kinds"][c["kind"][i]],
            "start_time_unix_nano": str(t0 + c["start"][i]),
            "end_time_unix_nano": str(t0 + c["start"][i] + c["duration"][i]),
            "status": {
                "code": data["statuses"][c["status"][i]],
                "message": data["statusMessages"].get(str(i), ""),
            },
            "events": len(spans[i]["events"]),
        }
        for i in range(N_BIG)
    ]
    keys = ("span_id", "parent_span_id", "name", "service", "kind", "start_time_unix_nano",
            "end_time_unix_nano", "status")  # fmt: skip
    assert rebuilt == [{**{k: s[k] for k in keys}, "events": len(s["events"])} for s in spans]
    assert c["eventCount"] == [len(s["events"]) for s in spans]
    assert sum(1 for s in spans if s["status"]["code"] == "error") > 3
    assert len(data["names"]) == 41
    assert sorted(data["services"]) == ["api", "inventory", "worker"]

    full = columns(proc, BIG, attributes="true")["columns"]
    assert full["attributes"] == [s["attributes"] for s in spans]
    assert full["events"] == [s["events"] for s in spans]
    assert "attributes" not in c


def test_one_span_equals_its_entry_in_the_trace(server: tuple[Proc, dict[str, str]]) -> None:
    proc, _ = server
    spans = get(proc, f"/api/v1/traces/{BIG}")["spans"]
    for span in (spans[0], spans[N_BIG // 2], spans[-1]):
        assert get(proc, f"/api/v1/traces/{BIG}/spans/{span['span_id'].upper()}") == span
    r = httpx.get(f"{proc.url}/api/v1/traces/{BIG}/spans/{'f' * 16}")
    assert r.status_code == 404
    assert r.json()["errorType"] == "not_found"


def test_services_and_operations(server: tuple[Proc, dict[str, str]]) -> None:
    proc, _ = server
    assert get(proc, "/api/v1/traces/services") == ["api", "cart", "inventory", "worker"]
    assert get(proc, "/api/v1/traces/services", limit=2) == ["api", "cart"]
    assert get(proc, "/api/v1/traces/operations", service="cart") == ["GET /cart", "load prices"]
    ops = get(proc, "/api/v1/traces/operations", service="api")
    assert "GET /checkout" in ops
    assert get(proc, "/api/v1/traces/operations", service="nope") == []
    assert get(proc, "/api/v1/traces/services", start="0", end="1") == []
    assert get(proc, "/api/v1/logs/services") == ["cart", "pager"]


def test_trace_search_pages_cover_every_trace_once(server: tuple[Proc, dict[str, str]]) -> None:
    proc, ids = server
    every = get(proc, "/api/v1/traces", limit=1000)["traces"]
    assert len(every) == 25
    seen: list[str] = []
    cursor = None
    for _ in range(30):
        page = get(proc, "/api/v1/traces", limit=4, **({"cursor": cursor} if cursor else {}))
        assert len(page["traces"]) <= 4
        seen += [t["trace_id"] for t in page["traces"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [t["trace_id"] for t in every]
    assert len(set(seen)) == 25
    starts = [int(t["start_time_unix_nano"]) for t in every]
    assert starts == sorted(starts, reverse=True)
    [big] = [t for t in every if t["trace_id"] == BIG]
    assert big["span_count"] == N_BIG
    assert big["root_name"] == "GET /checkout"
    assert big["root_service"] == "api"
    assert big["services"] == ["api", "inventory", "worker"]
    assert ids["trace_id"] in seen


def test_logs_the_tripod_sdk_sent_link_to_their_trace(server: tuple[Proc, dict[str, str]]) -> None:
    proc, ids = server
    trace_id = ids["trace_id"]
    logs = get(proc, "/api/v1/logs", trace_id=trace_id)["logs"]
    assert [x["body"] for x in logs] == ["price cache miss", "cart loaded"]
    assert {x["span_id"] for x in logs} == {ids["root"], ids["child"]}
    by_span = get(proc, "/api/v1/logs", trace_id=trace_id, span_id=ids["child"])["logs"]
    assert [x["body"] for x in by_span] == ["price cache miss"]
    assert get(proc, "/api/v1/logs", trace_id=trace_id.upper())["logs"] == logs
    # and back: each record's ids open its trace and its span
    for record in logs:
        spans = get(proc, f"/api/v1/traces/{record['trace_id']}")["spans"]
        assert record["span_id"] in {s["span_id"] for s in spans}
        assert get(proc, f"/api/v1/traces/{record['trace_id']}/spans/{record['span_id']}")
    [outside] = get(proc, "/api/v1/logs", contains="outside any span")["logs"]
    assert outside["trace_id"] == ""


def test_log_pages_cover_every_record_once(server: tuple[Proc, dict[str, str]]) -> None:
    proc, _ = server
    seen: list[str] = []
    cursor, tail = None, None
    for _ in range(10):
        extra = {"cursor": cursor, "tail": tail} if cursor else {}
        page = get(proc, "/api/v1/logs", service="pager", limit=50, **extra)
        tail = tail or page["tail"]
        seen += [x["body"] for x in page["logs"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [f"line {i}" for i in range(229, -1, -1)]
    ids = [x["id"] for x in get(proc, "/api/v1/logs", service="pager", limit=1000)["logs"]]
    assert len(set(ids)) == 230


def test_log_tail_returns_new_records_in_arrival_order(server: tuple[Proc, dict[str, str]]) -> None:
    proc, _ = server
    first = get(proc, "/api/v1/logs", service="tailed")
    assert first["logs"] == []
    tail = first["tail"]
    assert get(proc, "/api/v1/logs", service="tailed", after=tail) == {
        "logs": [], "tail": tail, "more": False}  # fmt: skip
    post(proc, "/v1/logs", log_records("tailed", ["a", "b", "c"], base_ns=BASE_NS + 10**12))
    # a record arriving late with an older timestamp still reaches the tail
    post(proc, "/v1/logs", log_records("tailed", ["late"], base_ns=BASE_NS))
    post(proc, "/v1/logs", log_records("other", ["not mine"]))
    page = get(proc, "/api/v1/logs", service="tailed", after=tail, limit=3)
    assert [x["body"] for x in page["logs"]] == ["a", "b", "c"]
    assert page["more"] is True
    page = get(proc, "/api/v1/logs", service="tailed", after=page["tail"], limit=3)
    assert [x["body"] for x in page["logs"]] == ["late"]
    assert page["more"] is False
    again = get(proc, "/api/v1/logs", service="tailed", after=page["tail"])
    assert again == {"logs": [], "tail": page["tail"], "more": False}
    # a search pinned to the first tail does not see what arrived after it
    assert get(proc, "/api/v1/logs", service="tailed", tail=tail)["logs"] == []


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        ("/api/v1/traces", {"limit": "1001"}, "limit=1001 is above the most one page"),
        ("/api/v1/logs", {"limit": "5000"}, "limit=5000 is above the most"),
        ("/api/v1/traces/services", {"limit": "1001"}, "is above the most"),
        ("/api/v1/logs/services", {"limit": "x"}, "not a positive integer"),
        ("/api/v1/traces/operations", {"start": "soon"}, 'parameter "start"'),
        (f"/api/v1/traces/{BIG}", {"format": "xml"}, "format='xml' is not json or columns"),
        (f"/api/v1/traces/{BIG}", {"format": "columns", "attributes": "x"}, "not true or"),
        (f"/api/v1/traces/{BIG}/spans/xyz", {}, "span id 'xyz' is not 16 hex digits"),
        (f"/api/v1/traces/{'g' * 32}/spans/{'0' * 16}", {}, "is not 32 hex digits"),
        ("/api/v1/logs", {"span_id": "12"}, "span_id='12' is not 16 hex digits"),
        ("/api/v1/logs", {"after": "nope"}, "after: tail cursor 'nope' is not a 'tail' value"),
        ("/api/v1/logs", {"tail": "eHl6"}, "is not a 'tail' value"),
        ("/api/v1/logs", {"after": "dGFpbDox", "cursor": "MTox"}, "cannot be combined"),
        ("/api/v1/logs", {"level": "<script>"}, "is not one of"),
    ],
)
def test_bad_parameters_are_400_with_a_reason(
    server: tuple[Proc, dict[str, str]], path: str, params: dict[str, str], words: str
) -> None:
    proc, _ = server
    r = httpx.get(proc.url + path, params=params)
    assert r.status_code == 400, r.text
    assert r.json()["errorType"] == "bad_data"
    assert words in r.json()["error"]


def test_unknown_trace_is_404_in_both_forms(server: tuple[Proc, dict[str, str]]) -> None:
    proc, _ = server
    for params in ({}, {"format": "columns"}):
        r = httpx.get(f"{proc.url}/api/v1/traces/{'e' * 32}", params=params)
        assert r.status_code == 404
        assert r.json()["errorType"] == "not_found"


def test_silences_work_with_no_alertmanager_configured(
    server: tuple[Proc, dict[str, str]],
) -> None:
    """The UI's Alerts page creates and expires silences on a plain `tripod serve`."""
    proc, _ = server
    body = {
        "matchers": [{"name": "alertname", "value": "Down", "isRegex": False, "isEqual": True}],
        "startsAt": "2030-01-01T00:00:00Z",
        "endsAt": "2030-01-01T02:00:00Z",
        "createdBy": "ui",
        "comment": "<script>x</script>",
    }
    r = httpx.post(proc.url + "/api/v2/silences", json=body)
    assert r.status_code == 200, r.text
    sid = r.json()["silenceID"]
    [found] = [s for s in httpx.get(proc.url + "/api/v2/silences").json() if s["id"] == sid]
    assert found["status"]["state"] == "pending"
    assert found["comment"] == "<script>x</script>"
    assert httpx.delete(f"{proc.url}/api/v2/silence/{sid}").status_code == 200
    [found] = [s for s in httpx.get(proc.url + "/api/v2/silences").json() if s["id"] == sid]
    assert found["status"]["state"] == "expired"
    bad = httpx.post(proc.url + "/api/v2/silences", json={**body, "matchers": []})
    assert bad.status_code == 400
    assert httpx.get(proc.url + "/api/v2/alerts").status_code == 200
