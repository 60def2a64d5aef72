"""Issue 8 end to end: a real ``tripod serve`` subprocess evaluating the rule file of
docs/alerting.md ("Running it in tripod serve"), delivering to a real Alertmanager 0.25 and to the
built-in notifier with the same routing file, surviving ``kill -9``, refusing bad files.

Everything runs on 127.0.0.1 free ports; waits are polls with a deadline on something the server
shows (an API answer, a webhook post), never a fixed sleep. The documented intervals are shortened
(``15s`` -> ``1s``, ``for: 1m`` -> seconds) so a run takes seconds.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.helpers.procs import Proc, free_port, start_tripod_serve
from tests.server.notify.sinks import HttpSink, alertmanager, poll

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parents[2] / "docs" / "alerting.md"


def _doc_blocks() -> tuple[str, str]:
    text = DOC.read_text()
    section = text[text.index("## Running it in `tripod serve`") :]
    rules, routing = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)[:2]
    return rules, routing


def rule_file(hold: str) -> str:
    rules, _ = _doc_blocks()
    assert "interval: 15s" in rules
    assert "for: 1m" in rules
    return rules.replace("interval: 15s", "interval: 1s").replace("for: 1m", f"for: {hold}")


def routing_file(url: str) -> str:
    _, routing = _doc_blocks()
    assert 'url: "http://127.0.0.1:5001/alerts"' in routing
    return (
        routing.replace("http://127.0.0.1:5001/alerts", url)
        .replace("group_wait: 30s", "group_wait: 1s")
        .replace("group_interval: 5m", "group_interval: 1s")
    )


def push_errors(url: str, jobs: tuple[str, ...] = ("api",)) -> None:
    """Six minutes of 5xx counters ending now, rising 1/s: ``rate(...[5m])`` reads about 1."""
    now = int(time.time())
    lines = [
        f'http_requests_total{{job="{job}",code="500"}} {v} {(now - 360 + v) * 1000}'
        for job in jobs
        for v in range(0, 361, 15)
    ]
    reply = httpx.post(url + "/api/v1/import/prometheus", content="\n".join(lines) + "\n")
    assert reply.status_code == 204, reply.text


def get(proc: Proc, path: str, **params: Any) -> Any:
    reply = httpx.get(proc.url + path, params=params, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def alerts(proc: Proc) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = get(proc, "/api/v1/alerts")["data"]["alerts"]
    return found


def alert_rule(proc: Proc) -> dict[str, Any]:
    groups = get(proc, "/api/v1/rules", type="alert")["data"]["groups"]
    rule: dict[str, Any] = groups[0]["rules"][0]
    return rule


def seconds(stamp: str) -> float:
    """Go's RFC 3339 time (up to nine fractional digits) as Unix seconds."""
    whole, _, fraction = stamp.removesuffix("Z").partition(".")
    base = dt.datetime.fromisoformat(whole).replace(tzinfo=dt.UTC).timestamp()
    return base + (float(f"0.{fraction}") if fraction else 0.0)


def firing_posts(hook: HttpSink) -> list[dict[str, Any]]:
    return [b for b in hook.bodies() if b["status"] == "firing"]


def test_rules_alertmanager_and_builtin_notifier(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "api.yml").write_text(rule_file("3s"))
    config = tmp_path / "tripod.yml"
    config.write_text("global:\n  external_labels: {cluster: e2e}\n")
    with HttpSink() as am_hook, HttpSink() as builtin_hook:
        routing = tmp_path / "alertmanager.yml"
        routing.write_text(routing_file(builtin_hook.url + "/alerts"))
        with alertmanager(tmp_path / "am", routing_file(am_hook.url + "/alerts")) as am:
            serve = start_tripod_serve(
                tmp_path / "data",
                "--config", str(config),
                "--rules", str(tmp_path / "rules" / "*.yml"),
                "--alertmanager-url", am.url,
                "--alertmanager-config", str(routing),
                "--external-url", "http://tripod.test:4318/",
            )  # fmt: skip
            with serve:
                push_errors(serve.url)
                recorded = poll(
                    lambda: get(serve, "/api/v1/query", query="job:http_errors:rate5m")["data"][
                        "result"
                    ]
                )
                assert recorded[0]["metric"] == {"__name__": "job:http_errors:rate5m", "job": "api"}
                assert float(recorded[0]["value"][1]) == pytest.approx(1.0, rel=0.1)

                pending = poll(lambda: [a for a in alerts(serve) if a["state"] == "pending"])
                assert pending[0]["labels"] == {
                    "alertname": "HighErrorRate", "job": "api", "severity": "page",
                }  # fmt: skip
                summary = pending[0]["annotations"]["summary"]
                assert re.fullmatch(r"api: [0-9.]+m? errors/s", summary)
                poll(lambda: [a for a in alerts(serve) if a["state"] == "firing"])
                assert alert_rule(serve)["state"] == "firing"
                series = get(serve, "/api/v1/query", query='ALERTS{alertstate="firing"}')
                assert series["data"]["result"][0]["metric"]["alertname"] == "HighErrorRate"

                # a real Alertmanager holds it, as Prometheus would have sent it
                held = poll(lambda: httpx.get(am.url + "/api/v2/alerts").json())
                assert held[0]["labels"] == {
                    "alertname": "HighErrorRate", "job": "api", "severity": "page",
                    "cluster": "e2e",
                }  # fmt: skip
                assert re.fullmatch(r"api: [0-9.]+m? errors/s", held[0]["annotations"]["summary"])
                assert held[0]["generatorURL"].startswith("http://tripod.test:4318/graph?g0.expr=")

                # both webhooks get the grouped notification (Alertmanager's version 4 JSON)
                for hook in (am_hook, builtin_hook):
                    (body,) = poll(functools.partial(firing_posts, hook))[:1]
                    assert body["receiver"] == "team"
                    assert body["groupLabels"] == {"alertname": "HighErrorRate", "job": "api"}
                    assert body["commonLabels"]["cluster"] == "e2e"
                    assert [a["labels"]["job"] for a in body["alerts"]] == ["api"]
                    assert body["alerts"][0]["annotations"] == held[0]["annotations"]

                metrics = httpx.get(serve.url + "/metrics").text
                sent = (
                    f'prometheus_notifications_sent_total{{alertmanager="{am.url}/api/v2/alerts"}}'
                )
                assert sent in metrics
                assert "prometheus_rule_group_iterations_total{rule_group=" in metrics


def test_kill_9_during_a_pending_for_resumes_it_and_notifies_once(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    # `for: 20s`: 12 s pending before the kill leave 8 s to run after the restore (over the 1 s
    # grace period); a `for` started afresh after the restart would need the full 20 s.
    rules.write_text(rule_file("20s"))
    data = tmp_path / "data"
    with HttpSink() as hook:
        routing = tmp_path / "alertmanager.yml"
        routing.write_text(routing_file(hook.url + "/alerts"))
        flags = ("--rules", str(rules), "--alertmanager-config", str(routing),
                 "--alert-for-grace-period", "1s")  # fmt: skip
        with start_tripod_serve(data, *flags) as first:
            push_errors(first.url)
            (pending,) = poll(lambda: [a for a in alerts(first) if a["state"] == "pending"])
            active_at = seconds(pending["activeAt"])
            # pending for 12s of evaluations, then the process dies without a word
            poll(lambda: seconds(alert_rule(first)["lastEvaluation"]) - active_at >= 12)
            assert [a["state"] for a in alerts(first)] == ["pending"]
            first.kill9()
        assert hook.bodies() == []

        restarted_at = time.time()
        with start_tripod_serve(data, *flags) as second:
            # the first evaluation sees a fresh alert (active after the restart); the second
            # restores the for clock: active 12s before that evaluation, so before the restart
            (restored,) = poll(
                lambda: [a for a in alerts(second) if seconds(a["activeAt"]) < restarted_at]
            )
            assert restored["state"] == "pending"
            assert seconds(restored["activeAt"]) > active_at  # shifted by the downtime
            poll(lambda: [a for a in alerts(second) if a["state"] == "firing"])
            fired = seconds(alert_rule(second)["lastEvaluation"])
            assert fired - restarted_at < 20  # not a full `for` after the restart
            poll(lambda: firing_posts(hook))
            # several more rounds and notifier ticks (1s each) pass; still exactly one
            poll(lambda: seconds(alert_rule(second)["lastEvaluation"]) - fired >= 5)
        assert len(firing_posts(hook)) == 1


def test_bad_rule_files_at_start_and_at_reload(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(rule_file("3s").replace("expr: job:http_errors:rate5m > 0.5",
                                              "expr: job:http_errors:rate5m >"))  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "tripod", "serve", "--data-dir", str(tmp_path / "d0"),
         "--port", str(free_port()), "--rules", str(broken)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"tripod serve: {broken}:8:15: ")

    rules = tmp_path / "rules.yml"
    good = rule_file("3s")
    rules.write_text(good)
    with start_tripod_serve(tmp_path / "data", "--rules", str(rules)) as serve:
        push_errors(serve.url)
        poll(lambda: [a for a in alerts(serve) if a["state"] == "firing"])
        rules.write_text(
            good.replace("- alert: HighErrorRate", "- alert: HighErrorRate\n        expr: up")
        )
        reply = httpx.post(serve.url + "/-/reload")
        assert reply.status_code == 400
        assert reply.text.startswith(f"failed to reload config: {rules}:")
        rules.write_text("groups: [unclosed\n")
        os.kill(serve.proc.pid, signal.SIGHUP)
        poll(lambda: "reload refused" in serve.log())
        (line,) = [ln for ln in serve.log().splitlines() if "reload refused" in ln]
        assert f"{rules}:" in line
        # the last good set keeps evaluating and firing
        before = seconds(alert_rule(serve)["lastEvaluation"])
        poll(lambda: seconds(alert_rule(serve)["lastEvaluation"]) > before + 2)
        assert [a["state"] for a in alerts(serve)] == ["firing"]
        names = [r["name"] for r in get(serve, "/api/v1/rules")["data"]["groups"][0]["rules"]]
        assert names == ["job:http_errors:rate5m", "HighErrorRate"]
