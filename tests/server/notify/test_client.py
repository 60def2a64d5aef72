"""The Alertmanager v2 client against a real Alertmanager 0.25 and against an HTTP sink."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from tests.server.notify.sinks import HttpSink, alertmanager, poll
from tripod.server.config import parse_relabel_configs, relabel
from tripod.server.notify import Alert
from tripod.server.notify._wire import fingerprint
from tripod.server.notify.client import (
    AlertmanagerClient,
    ConfigError,
    Relabeller,
    alert_payload,
    parse_alerting,
)


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return -1.0 if value is None else value


def test_payload_is_prometheus_bytes() -> None:
    alert = Alert(
        labels={"alertname": "HighErrorRate", "a": "<x&y>"},
        annotations={"summary": "5% errors"},
        starts_at=1764662400.123456,
        ends_at=1764662460.9999,
        generator_url="http://h/graph?g0.expr=up",
    )
    bare = Alert(labels={"alertname": "B"}, annotations={}, starts_at=0.5)
    assert alert_payload([alert, bare]) == (
        b'[{"annotations":{"summary":"5% errors"},"endsAt":"2025-12-02T08:01:00.999Z",'
        b'"startsAt":"2025-12-02T08:00:00.123Z","generatorURL":"http://h/graph?g0.expr=up",'
        b'"labels":{"a":"\\u003cx\\u0026y\\u003e","alertname":"HighErrorRate"}},'
        b'{"endsAt":"0001-01-01T00:00:00.000Z","startsAt":"1970-01-01T00:00:00.500Z",'
        b'"labels":{"alertname":"B"}}]'
    )


def _relabel_factory(raw: Any, where: str) -> Relabeller:
    configs = parse_relabel_configs(raw, where)
    return lambda labels: relabel(labels, configs)


def test_config_fields_named() -> None:
    cfg = parse_alerting(
        {
            "alertmanagers": [
                {
                    "static_configs": [{"targets": ["am:9093"]}],
                    "path_prefix": "/am",
                    "timeout": "3s",
                },
            ]
        },
        ["http://127.0.0.1:9093/", "http://127.0.0.1:9093"],
    )
    assert cfg.targets == (
        ("http://127.0.0.1:9093/api/v2/alerts", 10.0),
        ("http://am:9093/am/api/v2/alerts", 3.0),
    )
    bad = [
        ({"alertmanagers": [{"kubernetes_sd_configs": []}]}, "kubernetes_sd_configs"),
        ({"alertmanagers": [{"api_version": "v1"}]}, "api_version"),
        ({"alertmanagers": [{"timeout": "ten"}]}, "timeout"),
        ({"alertmanagers": [{"basic_auth": {}}]}, "basic_auth"),
        ({"alert_relabel_configs": [{"action": "explode"}]}, "action"),
        ({"alert_relabel_configs": [{"action": "drop"}]}, "alert_relabel_configs"),
        ({"foo": 1}, "alerting.foo"),
    ]
    for raw, field in bad:
        factory = _relabel_factory if field == "action" else None
        with pytest.raises(ConfigError, match=field):
            parse_alerting(raw, relabel_factory=factory)
    with pytest.raises(ConfigError, match="alertmanager-url"):
        parse_alerting(None, ["ftp://x"])


def test_queue_drops_oldest_and_counts() -> None:
    registry = CollectorRegistry()
    client = AlertmanagerClient(parse_alerting(None), registry=registry, queue_capacity=5)
    try:
        client.send([Alert({"alertname": f"A{i}"}, {}, 1.0) for i in range(4)])
        client.send([Alert({"alertname": f"B{i}"}, {}, 1.0) for i in range(3)])
        assert client.queue_length() == 5
        assert _value(registry, "prometheus_notifications_dropped_total") == 2
        client.send([Alert({"alertname": f"C{i}"}, {}, 1.0) for i in range(7)])
        assert _value(registry, "prometheus_notifications_dropped_total") == 2 + 2 + 5
        assert _value(registry, "prometheus_notifications_queue_capacity") == 5
        assert _value(registry, "prometheus_notifications_queue_length") == 5
        assert _value(registry, "prometheus_notifications_alertmanagers_discovered") == 0
    finally:
        client.stop()


def test_batches_external_labels_relabel_and_errors() -> None:
    registry = CollectorRegistry()
    with HttpSink() as good, HttpSink(status=500) as bad:
        cfg = parse_alerting(
            {
                "alert_relabel_configs": [
                    {"source_labels": ["severity"], "regex": "debug", "action": "drop"},
                    {"target_label": "team", "replacement": "core"},
                ]
            },
            [good.url, bad.url],
            _relabel_factory,
        )
        client = AlertmanagerClient(
            cfg, registry=registry, external_labels={"cluster": "eu1", "env": "prod"}
        )
        alerts = [Alert({"alertname": "A", "n": str(i), "env": "dev"}, {}, 1.0) for i in range(100)]
        alerts.append(Alert({"alertname": "Noise", "severity": "debug"}, {}, 1.0))
        client.send(alerts)  # queued before the thread starts: batches of 64 + 36
        client.start()
        try:
            posts = good.wait_for(2)
        finally:
            client.stop()
        assert [len(p) for p in posts] == [64, 36]
        first = posts[0][0]["labels"]
        assert first == {"alertname": "A", "n": "0", "env": "dev", "cluster": "eu1", "team": "core"}
        assert all(a["labels"]["alertname"] != "Noise" for p in posts for a in p)
        assert good.posts[0][0] == "/api/v2/alerts"
        assert good.posts[0][1]["Content-Type"] == "application/json"
        g, b = good.url + "/api/v2/alerts", bad.url + "/api/v2/alerts"
        poll(lambda: _value(registry, "prometheus_notifications_sent_total", alertmanager=b) == 100)
        assert _value(registry, "prometheus_notifications_sent_total", alertmanager=g) == 100
        assert _value(registry, "prometheus_notifications_errors_total", alertmanager=g) == 0
        assert _value(registry, "prometheus_notifications_errors_total", alertmanager=b) == 2
        assert _value(registry, "prometheus_notifications_dropped_total") == 0  # one AM got it
        assert (
            _value(registry, "prometheus_notifications_latency_seconds_count", alertmanager=g) == 2
        )
        assert _value(registry, "prometheus_notifications_alertmanagers_discovered") == 2


def test_unreachable_alertmanager_drops_and_never_raises() -> None:
    registry = CollectorRegistry()
    with HttpSink() as sink:
        url = sink.url
    client = AlertmanagerClient(parse_alerting(None, [url]), registry=registry)
    client.start()
    try:
        client.send([Alert({"alertname": "A"}, {}, 1.0)])
        poll(lambda: _value(registry, "prometheus_notifications_dropped_total") == 1)
        target = url + "/api/v2/alerts"
        assert _value(registry, "prometheus_notifications_errors_total", alertmanager=target) == 1
    finally:
        client.stop()


ROUTING = """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {url}/hook
        send_resolved: true
"""


def test_real_alertmanager_receives_groups_and_resolves(tmp_path: Path) -> None:
    with HttpSink() as hook, alertmanager(tmp_path / "am", ROUTING.format(url=hook.url)) as am:
        registry = CollectorRegistry()
        client = AlertmanagerClient(
            parse_alerting(None, [am.url]), registry=registry, external_labels={"cluster": "c1"}
        )
        client.start()
        try:
            now = time.time()
            firing = [
                Alert(
                    {"alertname": "ServiceDown", "job": job, "severity": "page"},
                    {"summary": f"{job} is down"},
                    starts_at=now,  # recent: Alertmanager waits group_wait for both
                    ends_at=now + 600,
                    generator_url=f"http://tripod/graph?job={job}",
                )
                for job in ("api", "worker")
            ]
            client.send(firing)

            def got() -> list[dict[str, Any]]:
                body = httpx.get(am.url + "/api/v2/alerts", timeout=5).json()
                return sorted(body, key=lambda a: a["labels"]["job"]) if len(body) == 2 else []

            seen = poll(got)
            assert [a["labels"] for a in seen] == [
                {"alertname": "ServiceDown", "job": j, "severity": "page", "cluster": "c1"}
                for j in ("api", "worker")
            ]
            assert seen[0]["annotations"] == {"summary": "api is down"}
            assert seen[0]["generatorURL"] == "http://tripod/graph?job=api"
            assert seen[0]["status"]["state"] == "active"
            assert seen[0]["startsAt"] == json.loads(alert_payload(firing[:1]))[0]["startsAt"]

            note = hook.wait_for(1)[0]
            assert note["status"] == "firing"
            assert note["groupLabels"] == {"alertname": "ServiceDown"}
            assert note["commonLabels"] == {
                "alertname": "ServiceDown", "severity": "page", "cluster": "c1"
            }  # fmt: skip
            assert len(note["alerts"]) == 2
            assert note["groupKey"] == '{}:{alertname="ServiceDown"}'
            ours = {a["labels"]["job"]: a["fingerprint"] for a in seen}
            assert ours == {a["labels"]["job"]: f"{fingerprint(a['labels']):016x}" for a in seen}
            assert {a["labels"]["job"]: a["fingerprint"] for a in note["alerts"]} == ours

            resolved_at = time.time()
            client.send([Alert(a.labels, a.annotations, a.starts_at, resolved_at,
                               a.generator_url) for a in firing])  # fmt: skip
            poll(lambda: httpx.get(am.url + "/api/v2/alerts?active=true", timeout=5).json() == [])
            notes = poll(lambda: [n for n in hook.bodies() if n["status"] == "resolved"])
            assert {a["status"] for a in notes[0]["alerts"]} == {"resolved"}
        finally:
            client.stop()
        target = am.url + "/api/v2/alerts"
        assert _value(registry, "prometheus_notifications_errors_total", alertmanager=target) == 0
