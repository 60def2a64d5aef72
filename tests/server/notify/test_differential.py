"""The same routing file and alerts through a real Alertmanager 0.25 and through the built-in
notifier: the webhook and Slack bodies and the email subject must agree field by field."""

from __future__ import annotations

import dataclasses
import time
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import yaml
from starlette.applications import Starlette

from tests.server.notify.sinks import HttpSink, Served, SmtpSink, alertmanager, poll
from tripod.server.notify import Alert, routes
from tripod.server.notify._wire import format_millis
from tripod.server.notify.amconfig import parse_config
from tripod.server.notify.client import AlertmanagerClient, parse_alerting
from tripod.server.notify.notifier import BuiltinNotifier

ROUTING = """
global:
  slack_api_url: SINK/slack
  smtp_smarthost: 127.0.0.1:SMTP_PORT
  smtp_from: am@example.org
  smtp_require_tls: false
route:
  receiver: team.x (eu)
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1h
  routes:
    - matchers: ['severity="page"']
      receiver: pager
receivers:
  - name: team.x (eu)
    webhook_configs:
      - url: SINK/hook
        max_alerts: 2
    slack_configs:
      - channel: '#ops'
        text: >-
          {{ range .Alerts }}{{ .Labels.job }}: {{ .Annotations.summary }} {{ end }}
  - name: pager
    email_configs:
      - to: oncall@example.org
        text: |-
          {{ .CommonLabels.alertname }} on {{ .CommonLabels.job }}: {{ .Status | toUpper }}
          {{ range .Alerts }}{{ .Labels.severity }} since {{ .StartsAt }}; {{ end }}
"""


def _routing(sink: str, smtp_port: int) -> str:
    return ROUTING.replace("SINK", sink).replace("SMTP_PORT", str(smtp_port))


def _alerts(now: float) -> list[Alert]:
    # Recent starts: an alert older than group_wait makes Alertmanager flush its group the moment
    # it arrives, racing the rest of the batch (and the inhibitor); we want its settled answer.
    start = round(now, 3)  # Alertmanager keeps milliseconds
    return [
        Alert({"alertname": "HighErrorRate", "job": job, "severity": "warning", "env": "prod"},
              {"summary": f"{job} errors", "runbook": "http://rb/x"}, start, start + 3600,
              f"http://tripod/graph?job={job}")
        for job in ("api", "web", "db")
    ] + [Alert({"alertname": "ServiceDown", "job": "api", "severity": "page"},
               {"summary": "api down"}, start, start + 3600, "")]  # fmt: skip


def _by_path(sink: HttpSink, path: str) -> list[Any]:
    return [b for (p, _, _), b in zip(sink.posts, sink.bodies(), strict=True) if p == path]


def _text_part(mail: Message) -> bytes:
    [part] = [p for p in mail.walk() if p.get_content_type() == "text/plain"]
    assert part["Content-Transfer-Encoding"] == "quoted-printable"
    body = part.get_payload(decode=True)
    assert isinstance(body, bytes)
    return body


def _same_alert_listing(
    ours: list[dict[str, Any]], our_sid: str, theirs: list[dict[str, Any]], their_sid: str
) -> None:
    """``GET /api/v2/alerts`` agrees but for receipt times and the silence's random id."""
    for listing, sid in ((ours, our_sid), (theirs, their_sid)):
        for a in listing:
            a.pop("updatedAt")
            a["status"]["silencedBy"] = ["S" if s == sid else s for s in a["status"]["silencedBy"]]
    assert ours == theirs
    states = {a["labels"]["job"] + a["labels"]["alertname"]: a["status"] for a in ours}
    assert states["apiHighErrorRate"]["inhibitedBy"] == [
        next(a["fingerprint"] for a in ours if a["labels"]["alertname"] == "ServiceDown")
    ]
    assert states["webHighErrorRate"] == {"inhibitedBy": [], "silencedBy": ["S"],
                                          "state": "suppressed"}  # fmt: skip


def _raw(sink: HttpSink, path: str) -> bytes:
    [body] = [b for p, _, b in sink.posts if p == path]
    return body


def test_webhook_slack_email_agree_with_alertmanager(tmp_path: Path) -> None:
    with HttpSink() as theirs_sink, HttpSink() as ours_sink, SmtpSink() as smtp:
        now = time.time()
        alerts = _alerts(now)
        their_cfg = _routing(theirs_sink.url, smtp.port)
        with alertmanager(tmp_path / "am", their_cfg) as am:
            client = AlertmanagerClient(parse_alerting(None, [am.url]))
            client.start()
            try:
                client.send(alerts)
                theirs_sink.wait_for(2)
                their_mail = smtp.wait_for(1)[0][1]
            finally:
                client.stop()
            external = am.url

        our_cfg = parse_config(yaml.safe_load(_routing(ours_sink.url, smtp.port)))
        notifier = BuiltinNotifier(our_cfg, external_url=external)
        try:
            notifier.send(alerts)
            # past group_wait from when the notifier took the alerts, however long Alertmanager
            # took above (ticking at now + 2 flushed nothing once that was over 2 s)
            notifier.tick(time.time() + 2)
            ours_sink.wait_for(2)
            our_mail = smtp.wait_for(2)[1][1]
        finally:
            notifier.stop()

    [their_hook], [our_hook] = _by_path(theirs_sink, "/hook"), _by_path(ours_sink, "/hook")
    assert our_hook == their_hook
    assert our_hook["truncatedAlerts"] == 1
    assert our_hook["receiver"] == "team\\.x \\(eu\\)"  # Go regexp.QuoteMeta, as Alertmanager
    assert _raw(ours_sink, "/hook") == _raw(theirs_sink, "/hook")  # byte for byte
    [their_slack], [our_slack] = _by_path(theirs_sink, "/slack"), _by_path(ours_sink, "/slack")
    assert our_slack == their_slack
    assert _raw(ours_sink, "/slack") == _raw(theirs_sink, "/slack")
    for header in ("Subject", "To", "From"):
        assert our_mail[header] == their_mail[header], header
    assert _text_part(our_mail) == _text_part(their_mail)


ROUTING_2 = """
route:
  receiver: team-x
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  routes:
    - matchers: ['severity="page"']
      receiver: pager
inhibit_rules:
  - source_matchers: ['alertname="ServiceDown"']
    target_matchers: ['alertname="HighErrorRate"']
    equal: [job]
receivers:
  - name: team-x
    webhook_configs:
      - url: SINK/hook
        max_alerts: 2
  - name: pager
    webhook_configs:
      - url: SINK/pager
        send_resolved: false
"""


def test_inhibition_silence_and_resolve_agree_with_alertmanager(tmp_path: Path) -> None:
    jobs = ("api", "web", "db", "cache", "queue")
    now = time.time()
    start = round(now, 3)  # recent: Alertmanager waits group_wait (see _alerts)
    errors = [
        Alert({"alertname": "HighErrorRate", "job": j, "severity": "warning"},
              {"summary": f"{j} errors"}, start, start + 3600, f"http://tripod/g?job={j}")
        for j in jobs
    ]  # fmt: skip
    down = Alert({"alertname": "ServiceDown", "job": "api", "severity": "page"}, {}, start,
                 start + 3600)  # fmt: skip
    silence = {
        "matchers": [{"name": "job", "value": "web", "isRegex": False, "isEqual": True}],
        "startsAt": format_millis(now - 1), "endsAt": format_millis(now + 3600),
        "createdBy": "test", "comment": "differential",
    }  # fmt: skip
    with HttpSink() as theirs, HttpSink() as ours:
        with alertmanager(tmp_path / "am", ROUTING_2.replace("SINK", theirs.url)) as am:
            assert httpx.post(am.url + "/api/v2/silences", json=silence).status_code == 200
            client = AlertmanagerClient(parse_alerting(None, [am.url]))
            client.start()
            try:
                client.send([down, *errors])
                theirs.wait_for(2)  # the HighErrorRate group and the pager group
                their_alerts = httpx.get(am.url + "/api/v2/alerts", timeout=10).json()
                their_silence = httpx.get(am.url + "/api/v2/silences", timeout=10).json()[0]["id"]
                resolved_at = round(time.time(), 3)  # as Prometheus resolves: endsAt = now
                resolved_db = dataclasses.replace(errors[2], ends_at=resolved_at)
                client.send([resolved_db])
                poll(lambda: len(_by_path(theirs, "/hook")) >= 2)
            finally:
                client.stop()
            external = am.url

        config = parse_config(yaml.safe_load(ROUTING_2.replace("SINK", ours.url)))
        # our notifier runs on the same times, stepped by hand
        notifier = BuiltinNotifier(config, external_url=external, clock=lambda: now)
        try:
            notifier.silences.set(silence)
            notifier.dispatcher.put([down, *errors], now)
            notifier.tick(now + 1)
            server = Served(Starlette(routes=routes(notifier.silences, notifier)))
            try:
                our_alerts = httpx.get(server.url + "/api/v2/alerts", timeout=10).json()
            finally:
                server.close()
            our_silence = notifier.silences.list()[0].id
            notifier.dispatcher.put([resolved_db], resolved_at)
            notifier.tick(max(resolved_at, now + 3))  # the next group_interval after it
            ours.wait_for(3)
        finally:
            notifier.stop()

    for path in ("/hook", "/pager"):
        assert _by_path(ours, path) == _by_path(theirs, path), path
        assert [b for p, _, b in ours.posts if p == path] == [
            b for p, _, b in theirs.posts if p == path
        ], path
    _same_alert_listing(our_alerts, our_silence, their_alerts, their_silence)
    first, second = _by_path(ours, "/hook")
    assert [a["labels"]["job"] for a in first["alerts"]] == ["cache", "db"]  # api inhibited,
    assert first["truncatedAlerts"] == 1  # web silenced, queue over max_alerts
    assert [(a["labels"]["job"], a["status"]) for a in second["alerts"]] == [
        ("cache", "firing"), ("db", "resolved")
    ]  # fmt: skip


ROUTING_3 = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1s
  routes:
    - matchers: ['team=~"db|ops"', 'env!="dev"', 'note="say \\"hi\\""']
      receiver: teams
      group_by: ['...']
      continue: true
    - match: {severity: page}
      receiver: pager
receivers:
  - name: default
    webhook_configs: [{url: SINK/default}]
  - name: teams
    webhook_configs: [{url: SINK/teams}]
  - name: pager
    webhook_configs: [{url: SINK/pager}]
"""


def test_nested_routes_continue_and_group_by_all_agree(tmp_path: Path) -> None:
    now = time.time()
    start = round(now, 3)
    alerts = [
        Alert({"alertname": "DiskFull", "team": "db", "env": "prod", "severity": "page",
               "note": 'say "hi"'}, {}, start, start + 600),
        Alert({"alertname": "DiskFull", "team": "web", "severity": "page"}, {}, start, start + 600),
        Alert({"alertname": "Slow", "team": "ops", "env": "dev"}, {}, start, start + 600),
    ]  # fmt: skip
    with HttpSink() as theirs, HttpSink() as ours:
        with alertmanager(tmp_path / "am", ROUTING_3.replace("SINK", theirs.url)) as am:
            client = AlertmanagerClient(parse_alerting(None, [am.url]))
            client.start()
            try:
                client.send(alerts)
                theirs.wait_for(3)  # teams (db), pager (db + web in one group), default (Slow)
            finally:
                client.stop()
            external = am.url
        config = parse_config(yaml.safe_load(ROUTING_3.replace("SINK", ours.url)))
        notifier = BuiltinNotifier(config, external_url=external, clock=lambda: now)
        try:
            notifier.dispatcher.put(alerts, now)
            notifier.tick(now + 1)
            ours.wait_for(3)
        finally:
            notifier.stop()
    assert sorted(b for _, _, b in ours.posts) == sorted(b for _, _, b in theirs.posts)
    keys = sorted(b["groupKey"] for b in ours.bodies())
    assert keys == [
        (
            '{}/{env!="dev",note="say \\"hi\\"",team=~"db|ops"}:{alertname="DiskFull", '
            'env="prod", note="say \\"hi\\"", severity="page", team="db"}'
        ),
        '{}/{severity="page"}:{alertname="DiskFull"}',
        '{}:{alertname="Slow"}',
    ]
