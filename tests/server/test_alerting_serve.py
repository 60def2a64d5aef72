"""Rules and notifications as ``tripod serve`` assembles them (``tripod.server.app.Alerting``):
the real store, the PromQL engine, the HTTP routes and reload, driven by an injected clock.

The rule thread is not started here: each test calls ``evaluate_due`` at the times it chooses,
so pending, firing and the counters are checked at exact instants. The subprocess proofs (a real
``tripod serve``, Alertmanager, kill -9) are in tests/e2e/test_alerting.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest

from tripod.server.app import Alerting, AlertingSetupError, build_app, open_context
from tripod.server.config import AlertingConfig, GlobalConfig, ServerConfig
from tripod.server.deps import ServerContext
from tripod.server.store import Sample

T0 = 1_800_000_000.0  # a fixed wall clock (seconds); every group slot is computed from it

RULES = """\
groups:
  - name: http
    interval: 10s
    rules:
      - record: job:errors:sum
        expr: sum by (job) (errors)
      - alert: TooManyErrors
        expr: job:errors:sum > 5
        for: 30s
        labels: {severity: page}
        annotations:
          summary: "{{ $labels.job }} has {{ $value }} errors"
"""

ROUTING = """\
route:
  receiver: hook
  group_wait: 1s
receivers:
  - name: hook
    webhook_configs: [{url: "http://127.0.0.1:9/hook"}]
"""


class AppClient:
    """Requests straight to the ASGI app (no lifespan, so no rule thread), one at a time."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tripod") as c:
                return await c.request(method, url, **kwargs)

        return asyncio.run(send())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServerContext, Alerting, AppClient, Clock, Path]]:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    routing = tmp_path / "alertmanager.yml"
    routing.write_text(ROUTING)
    config = ServerConfig(
        data_dir=tmp_path / "data",
        rule_files=(str(tmp_path / "rule*.yml"),),
        alerting=AlertingConfig(alertmanager_config=routing),
        global_config=GlobalConfig(external_labels={"cluster": "eu1"}),
        external_url="http://tripod.example:4318/",
    )
    ctx = open_context(config)
    clock = Clock()
    alerting = Alerting(ctx, clock=clock)
    client = AppClient(build_app(ctx, alerting))  # no lifespan: the test drives the clock
    try:
        yield ctx, alerting, client, clock, rules
    finally:
        alerting.notification.stop()
        ctx.db.close()


def _run_until(alerting: Alerting, clock: Clock, until: float) -> None:
    """Evaluate every second of wall clock up to ``until`` (groups run on their own slots)."""
    while clock.now < until:
        clock.now += 1.0
        alerting.evaluate_due(int(clock.now * 1000))


def _errors(ctx: ServerContext, value: float, start: float, end: float) -> None:
    ts = range(int(start * 1000), int(end * 1000) + 1, 5000)
    ctx.samples.append(Sample({"__name__": "errors", "job": "api"}, t, value) for t in ts)


def _alerts(client: AppClient) -> list[dict[str, Any]]:
    reply = client.get("/api/v1/alerts")
    assert reply.status_code == 200
    alerts: list[dict[str, Any]] = reply.json()["data"]["alerts"]
    return alerts


def _metric(ctx: ServerContext, line_start: str) -> float:
    text = generate_latest(ctx.registry).decode()
    found = [ln for ln in text.splitlines() if ln.startswith(line_start + " ")]
    assert found, f"{line_start} not in /metrics"
    return float(found[0].rsplit(" ", 1)[1])


def test_rules_evaluate_over_the_store_and_alerts_go_pending_then_firing(
    served: tuple[ServerContext, Alerting, AppClient, Clock, Path],
) -> None:
    ctx, alerting, client, clock, rules = served
    _errors(ctx, 9, T0 - 60, T0 + 120)
    _run_until(alerting, clock, T0 + 15)  # first slot schedules, the next one evaluates
    recorded = client.get("/api/v1/query", params={"query": "job:errors:sum", "time": clock.now})
    assert recorded.json()["data"]["result"][0]["value"][1] == "9"
    (pending,) = _alerts(client)
    assert pending["state"] == "pending"
    assert pending["labels"] == {"alertname": "TooManyErrors", "job": "api", "severity": "page"}
    assert pending["annotations"] == {"summary": "api has 9 errors"}

    _run_until(alerting, clock, T0 + 60)
    (firing,) = _alerts(client)
    assert firing["state"] == "firing"
    assert firing["activeAt"] == pending["activeAt"]
    query = client.get("/api/v1/query", params={"query": "ALERTS", "time": clock.now})
    (series,) = query.json()["data"]["result"]
    assert series["metric"]["alertstate"] == "firing"

    body = client.get("/api/v1/rules").json()["data"]["groups"]
    assert [g["name"] for g in body] == ["http"]
    assert body[0]["file"] == str(rules)
    assert [r["type"] for r in body[0]["rules"]] == ["recording", "alerting"]
    assert body[0]["rules"][1]["state"] == "firing"
    alerting_only = client.get("/api/v1/rules?type=alert").json()["data"]["groups"][0]["rules"]
    assert [r["name"] for r in alerting_only] == ["TooManyErrors"]
    bad = client.get("/api/v1/rules?type=nope")
    assert bad.status_code == 400
    assert "not supported value" in bad.json()["error"]

    # the built-in notifier holds the firing alert with the external label added
    held = client.get("/api/v2/alerts").json()
    assert [(a["labels"]["alertname"], a["labels"]["cluster"]) for a in held] == [
        ("TooManyErrors", "eu1")
    ]
    assert held[0]["generatorURL"].startswith("http://tripod.example:4318/graph?g0.expr=")

    group = f'rule_group="{rules};http"'
    iterations = _metric(ctx, f"prometheus_rule_group_iterations_total{{{group}}}")
    assert iterations >= 5
    assert _metric(ctx, f"prometheus_rule_evaluations_total{{{group}}}") == 2 * iterations
    assert _metric(ctx, f"prometheus_rule_evaluation_failures_total{{{group}}}") == 0
    assert _metric(ctx, f"prometheus_rule_group_interval_seconds{{{group}}}") == 10
    assert _metric(ctx, f"prometheus_rule_group_rules{{{group}}}") == 2
    assert _metric(ctx, f"prometheus_rule_group_iterations_missed_total{{{group}}}") == 0
    assert _metric(ctx, "prometheus_rule_evaluation_duration_seconds_count") == 2 * iterations


def test_missed_slots_and_failures_are_counted(
    served: tuple[ServerContext, Alerting, AppClient, Clock, Path],
) -> None:
    ctx, alerting, client, clock, rules = served
    _run_until(alerting, clock, T0 + 25)
    group = f'rule_group="{rules};http"'
    before = _metric(ctx, f"prometheus_rule_group_iterations_total{{{group}}}")
    due = alerting.manager.next_due_ms()
    assert due is not None
    # the thread was held up: three slots pass unevaluated, the fourth is evaluated
    clock.now = (due + 30_500) / 1000
    alerting.evaluate_due(int(clock.now * 1000))
    assert _metric(ctx, f"prometheus_rule_group_iterations_missed_total{{{group}}}") == 3
    assert _metric(ctx, f"prometheus_rule_group_iterations_total{{{group}}}") == before + 4

    rules.write_text(
        RULES.replace("sum by (job) (errors)", 'label_replace(errors, "job", "all", "", "")')
    )
    assert client.post("/-/reload").status_code == 200
    _errors(ctx, 1, clock.now - 30, clock.now + 30)
    _run_until(alerting, clock, clock.now + 10)
    assert _metric(ctx, f"prometheus_rule_evaluation_failures_total{{{group}}}") == 0
    ctx.samples.append([Sample({"__name__": "errors", "job": "web"}, int(clock.now * 1000), 1)])
    _run_until(alerting, clock, clock.now + 10)
    assert _metric(ctx, f"prometheus_rule_evaluation_failures_total{{{group}}}") == 1
    (recording,) = client.get("/api/v1/rules?type=record").json()["data"]["groups"][0]["rules"]
    assert recording["health"] == "err"
    assert recording["lastError"] == "vector cannot contain metrics with the same labelset"


def test_reload_refuses_a_bad_file_and_keeps_the_last_good_set(
    served: tuple[ServerContext, Alerting, AppClient, Clock, Path],
) -> None:
    ctx, alerting, client, clock, rules = served
    _errors(ctx, 9, T0 - 60, T0 + 300)
    _run_until(alerting, clock, T0 + 15)
    rules.write_text(
        RULES.replace("- alert: TooManyErrors", "- alert: TooManyErrors\n        bogus: 1")
    )
    reply = client.post("/-/reload")
    assert reply.status_code == 400
    assert reply.text.startswith("failed to reload config: ")
    assert f"{rules}:8:9: field bogus not found" in reply.text
    assert reply.text.count("\n") == 1
    _run_until(alerting, clock, T0 + 60)
    assert [a["state"] for a in _alerts(client)] == ["firing"]  # the old set kept evaluating

    rules.write_text(RULES.replace("TooManyErrors", "ErrorsHigh"))
    routing = alerting.config.alerting.alertmanager_config
    assert routing is not None
    good_routing = routing.read_text()
    routing.write_text(good_routing + "inhibit_rules: [{equal: [job], bogus: 1}]\n")
    reply = client.post("/-/reload")
    assert reply.status_code == 400
    assert str(routing) in reply.text
    assert "bogus" in reply.text
    names = [r["name"] for r in client.get("/api/v1/rules").json()["data"]["groups"][0]["rules"]]
    assert names == ["job:errors:sum", "TooManyErrors"]  # nothing applied: both files or none

    routing.write_text(good_routing)
    assert client.put("/-/reload").status_code == 200
    names = [r["name"] for r in client.get("/api/v1/rules").json()["data"]["groups"][0]["rules"]]
    assert names == ["job:errors:sum", "ErrorsHigh"]


def test_bad_files_at_start_are_one_line_naming_the_place(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: sum(\n")
    config = ServerConfig(data_dir=tmp_path / "data", rule_files=(str(rules),))
    ctx = open_context(config)
    try:
        with pytest.raises(AlertingSetupError) as caught:
            Alerting(ctx)
        message = str(caught.value)
        assert message.startswith(f"{rules}:5:")
        assert "\n" not in message

        routing = tmp_path / "am.yml"
        routing.write_text("route: {receiver: nobody}\nreceivers: [{name: hook}]\n")
        ctx.config = dataclasses.replace(
            config, rule_files=(), alerting=AlertingConfig(alertmanager_config=routing)
        )
        with pytest.raises(AlertingSetupError, match=str(routing)):
            Alerting(ctx)
    finally:
        ctx.db.close()


def test_the_alerting_routes_need_the_token(tmp_path: Path) -> None:
    config = ServerConfig(data_dir=tmp_path / "data", token="s3cret")
    ctx = open_context(config)
    try:
        client = AppClient(build_app(ctx))
        for method, path in (("GET", "/api/v1/rules"), ("GET", "/api/v1/alerts"),
                             ("POST", "/-/reload")):  # fmt: skip
            assert client.request(method, path).status_code == 401
            authorized = client.request(method, path, headers={"Authorization": "Bearer s3cret"})
            assert authorized.status_code == 200
        assert client.get("/api/v2/silences").status_code == 401  # no built-in notifier: no route
    finally:
        ctx.db.close()


def test_the_rules_api_answers_while_a_round_runs(
    served: tuple[ServerContext, Alerting, AppClient, Clock, Path],
) -> None:
    ctx, alerting, client, clock, _ = served
    _errors(ctx, 9, T0 - 60, T0 + 120)
    _run_until(alerting, clock, T0 + 15)
    # a round in progress holds its groups' locks (and the round lock) while they evaluate
    with alerting.manager._round_lock, alerting.manager.groups[0].lock:
        reply = client.get("/api/v1/alerts")
        assert [a["state"] for a in reply.json()["data"]["alerts"]] == ["pending"]
        assert client.get("/api/v1/rules?type=record").json()["data"]["groups"][0]["rules"]
