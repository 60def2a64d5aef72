"""``build_notification``: what ``tripod serve`` runs, from its settings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from tests.server.notify.sinks import HttpSink, checked
from tripod.server.notify import Alert, ConfigError, build_notification


def test_both_parts_receive_and_stop(tmp_path: Path) -> None:
    with HttpSink() as am, HttpSink() as hook:
        config = {"route": {"receiver": "h", "group_wait": "0s"},
                  "receivers": [{"name": "h", "webhook_configs": [{"url": hook.url}]}]}  # fmt: skip
        checked(config, tmp_path)
        path = tmp_path / "am.yml"
        path.write_text(yaml.safe_dump(config))
        registry = CollectorRegistry()
        notification = build_notification(
            alertmanager_urls=[am.url], alertmanager_config=path, data_dir=tmp_path / "data",
            registry=registry, external_labels={"cluster": "c"},
        )  # fmt: skip
        assert {r.path for r in notification.routes} == {  # type: ignore[attr-defined]
            "/api/v2/silences", "/api/v2/silence/{sid}", "/api/v2/alerts"
        }  # fmt: skip
        notification.start()
        try:
            notification.sink.send([Alert({"alertname": "A"}, {}, time.time(), None)])
            [batch] = am.wait_for(1)
            assert batch[0]["labels"] == {"alertname": "A", "cluster": "c"}
            [note] = hook.wait_for(1)  # external labels: an Alertmanager would have seen them
            assert note["alerts"][0]["labels"] == {"alertname": "A", "cluster": "c"}
        finally:
            notification.stop()
        assert registry.get_sample_value("prometheus_notifications_queue_capacity") == 10000


def test_nothing_configured_and_bad_settings(tmp_path: Path) -> None:
    empty = build_notification()
    assert empty.routes == []
    empty.start()
    empty.sink.send([Alert({"alertname": "A"}, {}, 1.0)])
    empty.stop()
    with pytest.raises(ConfigError, match="alertmanager-url"):
        build_notification(alertmanager_urls=["nope"])
    bad = tmp_path / "bad.yml"
    bad.write_text("route: {receiver: x}\nreceivers: [{name: x, opsgenie_configs: []}]\n")
    with pytest.raises(ConfigError, match=r"bad\.yml: receivers\[0\]\.opsgenie_configs"):
        build_notification(alertmanager_config=bad)
