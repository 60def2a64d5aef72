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
from tripod.server.rules.api import rfc3339
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
