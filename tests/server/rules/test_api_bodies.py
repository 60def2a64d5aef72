"""/api/v1/rules and /api/v1/alerts bodies in Prometheus 2.42's shape."""

from __future__ import annotations

import pytest

from tripod.server.promql import Engine
from tripod.server.rules import (
    MemorySampleStore,
    RuleGroup,
    alerts_body,
    engine_query_func,
    parse_rules,
    rules_body,
)
from tripod.server.rules._gojson import go_float, go_json
from tripod.server.rules.api import rfc3339, rfc3339_ms
from tripod.server.store.model import Sample

RULES = """
groups:
  - name: api
    interval: 30s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Down
        expr: up == 0
        for: 1m
        keep_firing_for: 2m
        labels: {severity: page}
        annotations: {summary: down}
"""


def _group() -> RuleGroup:
    store = MemorySampleStore()
    store.append([Sample({"__name__": "up", "job": "a"}, 0, 0.0)])
    [spec], problems = parse_rules(RULES, "rules/api.yml")
    assert problems == []
    ticks = iter([100.0, 100.0, 100.25, 100.25, 100.5, 100.5])
    group = RuleGroup(
        spec, store, engine_query_func(Engine(store)), clock=lambda: next(ticks, 101.0)
    )
    group.eval(30_000)
    return group


def test_rules_body_has_prometheus_shape() -> None:
    body = rules_body([_group()])
    assert body["status"] == "success"
    [group] = body["data"]["groups"]
    assert group["name"] == "api"
    assert group["file"] == "rules/api.yml"
    assert group["interval"] == 30.0
    assert group["limit"] == 0
    assert group["lastEvaluation"] == "1970-01-01T00:01:40Z"
    recording, alerting = group["rules"]
    assert recording == {
        "name": "job:up:sum",
        "query": "sum by (job) (up)",
        "health": "ok",
        "evaluationTime": 0.25,
        "lastEvaluation": "1970-01-01T00:01:40Z",
        "type": "recording",
    }
    assert alerting["state"] == "pending"
    assert alerting["duration"] == 60.0
    assert alerting["keepFiringFor"] == 120.0
    assert alerting["labels"] == {"severity": "page"}
    assert alerting["annotations"] == {"summary": "down"}
    assert alerting["type"] == "alerting"
    assert alerting["lastEvaluation"] == "1970-01-01T00:01:40.25Z"
    assert alerting["alerts"] == [
        {
            "labels": {"alertname": "Down", "job": "a", "severity": "page"},
            "annotations": {"summary": "down"},
            "state": "pending",
            "activeAt": "1970-01-01T00:00:30Z",
            "value": "0e+00",
        }
    ]
    assert [r["type"] for r in rules_body([_group()], "alert")["data"]["groups"][0]["rules"]] == [
        "alerting"
    ]
    assert [r["type"] for r in rules_body([_group()], "record")["data"]["groups"][0]["rules"]] == [
        "recording"
    ]


def test_rules_body_refuses_an_unknown_type() -> None:
    with pytest.raises(ValueError, match='invalid parameter "type": not supported value "x"'):
        rules_body([], "x")


def test_alerts_body_lists_active_alerts() -> None:
    body = alerts_body([_group()])
    assert [a["labels"]["alertname"] for a in body["data"]["alerts"]] == ["Down"]


def test_never_evaluated_is_go_zero_time() -> None:
    assert rfc3339(None) == "0001-01-01T00:00:00Z"
    assert rfc3339(1.5) == "1970-01-01T00:00:01.5Z"


def test_times_print_as_go_does_from_integer_milliseconds() -> None:
    # the float 1796286654.617 is 1796286654.617000103...: printed digits come from integers
    assert rfc3339_ms(1_796_200_254_617) == "2026-12-02T08:30:54.617Z"
    assert rfc3339_ms(1_796_200_254_000) == "2026-12-02T08:30:54Z"
    assert rfc3339(1_796_200_254.617) == "2026-12-02T08:30:54.617Z"
    assert rfc3339(1_796_200_254.617251) == "2026-12-02T08:30:54.617251Z"


def test_alert_active_at_from_a_wall_clock_slot() -> None:
    store = MemorySampleStore()
    t = 1_796_200_254_617
    store.append([Sample({"__name__": "up", "job": "a"}, t - 1000, 0.0)])
    [spec], _ = parse_rules(RULES, "rules/api.yml")
    group = RuleGroup(spec, store, engine_query_func(Engine(store)), clock=lambda: t / 1000)
    group.eval(t)
    [alert] = alerts_body([group])["data"]["alerts"]
    assert alert["activeAt"] == "2026-12-02T08:30:54.617Z"
    [g] = rules_body([group])["data"]["groups"]
    assert g["lastEvaluation"] == "2026-12-02T08:30:54.617Z"
    text = go_json(rules_body([group]))
    assert '"interval":30,' in text
    assert '"evaluationTime":0,' in text
    assert '"query":"up == 0"' in text


def test_go_json_floats_and_escapes() -> None:
    assert [go_float(v) for v in (60.0, 0.25, 1.2e-05, 1e-07, 1e21, -0.0, 1e20)] == [
        "60", "0.25", "0.000012", "1e-7", "1e+21", "-0", "100000000000000000000",
    ]  # fmt: skip
    assert go_json({"q": "a > 1 & b < 2", "v": [1, 2.5, None, True]}) == (
        '{"q":"a \\u003e 1 \\u0026 b \\u003c 2","v":[1,2.5,null,true]}'
    )
