"""The built-in notifier, clock-stepped: a webhook sink and an SMTP sink get grouped notifications
at the times Alertmanager would send them; inhibition and silences suppress what they should.
Every routing file used here also passes Debian's ``amtool check-config``."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.server.notify.sinks import HttpSink, SmtpSink, amtool_binary
from tripod.server.notify import Alert, Fanout
from tripod.server.notify._wire import format_millis
from tripod.server.notify.amconfig import load_config
from tripod.server.notify.notifier import BuiltinNotifier
from tripod.server.notify.silences import SilenceStore

T0 = 1_800_000_000.0

ROUTING = """
global:
  resolve_timeout: 5m
  smtp_smarthost: 127.0.0.1:{smtp_port}
  smtp_from: tripod@example.org
  smtp_require_tls: false
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity="page"']
      receiver: mail
      continue: true
    - matchers: ['team=~"db|storage"']
      group_by: ['...']
inhibit_rules:
  - source_matchers: ['alertname="ServiceDown"']
    target_matchers: ['alertname="HighErrorRate"']
    equal: [service]
receivers:
  - name: hook
    webhook_configs:
      - url: {hook_url}/hook
  - name: mail
    email_configs:
      - to: oncall@example.org
"""


def amtool_check(path: Path) -> None:
    done = subprocess.run(
        [amtool_binary(), "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def write(tmp_path: Path, text: str, name: str = "alertmanager.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    amtool_check(path)
    return path


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def alert(name: str, service: str, *, severity: str = "warning", ends: float | None = None,
          starts: float = T0, **extra: str) -> Alert:  # fmt: skip
    labels = {"alertname": name, "service": service, "severity": severity, **extra}
    return Alert(labels, {"summary": f"{name} on {service}"}, starts, ends, "http://tripod/g")


def statuses(note: dict[str, Any]) -> dict[str, str]:
    return {a["labels"]["service"]: a["status"] for a in note["alerts"]}


def test_grouping_timing_inhibition_and_email(tmp_path: Path) -> None:
    with HttpSink() as hook, SmtpSink() as smtp:
        path = write(tmp_path, ROUTING.format(smtp_port=smtp.port, hook_url=hook.url))
        clock = Clock(T0)
        notifier = BuiltinNotifier.from_file(path, tmp_path, clock=clock, external_url="http://t")
        try:
            far = T0 + 10 * 3600  # firing alerts carry a validity horizon, as Prometheus sends them
            notifier.send([alert("HighErrorRate", "api", ends=far)])
            notifier.tick(T0 + 29)
            assert hook.posts == []
            notifier.tick(T0 + 30)  # group_wait
            first = hook.wait_for(1)[0]
            assert first["groupKey"] == '{}:{alertname="HighErrorRate"}'
            assert first["receiver"] == "hook"
            assert first["version"] == "4"
            assert first["truncatedAlerts"] == 0
            assert first["externalURL"] == "http://t"
            assert first["groupLabels"] == {"alertname": "HighErrorRate"}
            assert statuses(first) == {"api": "firing"}
            assert first["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
            assert first["alerts"][0]["startsAt"] == "2027-01-15T08:00:00Z"

            clock.now = T0 + 60
            notifier.send([alert("HighErrorRate", "web", ends=far)])
            notifier.tick(T0 + 329)
            assert len(hook.posts) == 1  # not before group_interval
            notifier.tick(T0 + 330)
            second = hook.wait_for(2)[1]
            assert statuses(second) == {"api": "firing", "web": "firing"}
            assert second["commonLabels"] == {"alertname": "HighErrorRate", "severity": "warning"}
            notifier.tick(T0 + 630)
            assert len(hook.posts) == 2  # nothing new, repeat_interval not reached

            clock.now = T0 + 700
            notifier.send([alert("HighErrorRate", "api", ends=T0 + 700)])
            notifier.tick(T0 + 930)
            third = hook.wait_for(3)[2]
            assert third["status"] == "firing"
            assert statuses(third) == {"api": "resolved", "web": "firing"}
            assert third["alerts"][0]["endsAt"] == "2027-01-15T08:11:40Z"

            # ServiceDown pages by mail and inhibits HighErrorRate for the same service.
            clock.now = T0 + 1000
            notifier.send([alert("ServiceDown", "checkout", severity="page", ends=far),
                           alert("HighErrorRate", "checkout", ends=far)])  # fmt: skip
            notifier.tick(T0 + 1030)
            envelope, mail = smtp.wait_for(1)[0]
            assert envelope.rcpt_tos == ["oncall@example.org"]
            assert envelope.mail_from == "tripod@example.org"
            assert mail["Subject"] == "[FIRING:1] ServiceDown (checkout page)"
            assert mail.get_content_type() == "multipart/alternative"
            [part] = [p for p in mail.walk() if p.get_content_type() == "text/plain"]
            assert part["Content-Transfer-Encoding"] == "quoted-printable"
            text = part.get_payload(decode=True)
            assert isinstance(text, bytes)
            assert b"Alerts Firing:" in text
            assert b" - service = checkout" in text
            notifier.tick(T0 + 1230)  # HighErrorRate group: checkout is inhibited
            assert len(hook.posts) == 3

            clock.now = T0 + 1300
            notifier.send([alert("ServiceDown", "checkout", severity="page", ends=T0 + 1300)])
            notifier.tick(T0 + 1530)
            fourth = hook.wait_for(4)[3]
            assert statuses(fourth) == {"checkout": "firing", "web": "firing"}
            assert len(smtp.wait_for(1)) == 1  # email: send_resolved is false by default

            notifier.tick(T0 + 1530 + 4 * 3600)  # due, but repeat_interval has not passed
            assert len(hook.posts) == 4
            notifier.tick(T0 + 1830 + 4 * 3600)  # next group_interval: repeat the same group
            assert statuses(hook.wait_for(5)[4]) == {"checkout": "firing", "web": "firing"}
        finally:
            notifier.stop()


def test_silences_mute_until_expired(tmp_path: Path) -> None:
    with HttpSink() as hook:
        path = write(tmp_path, ROUTING.format(smtp_port=25, hook_url=hook.url))
        clock = Clock(T0)
        notifier = BuiltinNotifier.from_file(path, tmp_path, clock=clock)
        try:
            sid = notifier.silences.set(
                {
                    "matchers": [{"name": "service", "value": "api", "isRegex": False}],
                    "startsAt": format_millis(T0 - 1),
                    "endsAt": format_millis(T0 + 3600),
                    "createdBy": "test",
                    "comment": "deploy",
                }
            )
            far = T0 + 7200
            notifier.send([alert("HighErrorRate", "api", ends=far),
                           alert("HighErrorRate", "web", ends=far)])  # fmt: skip
            notifier.tick(T0 + 30)
            assert statuses(hook.wait_for(1)[0]) == {"web": "firing"}
            clock.now = T0 + 100
            notifier.silences.expire(sid)
            notifier.tick(T0 + 330)
            assert statuses(hook.wait_for(2)[1]) == {"api": "firing", "web": "firing"}
        finally:
            notifier.stop()
        reloaded = SilenceStore(tmp_path / "silences.json", clock=clock)
        assert [s.state(clock.now) for s in reloaded.list()] == ["expired"]


def test_old_alert_flushes_at_once_and_resolve_timeout(tmp_path: Path) -> None:
    with HttpSink() as hook:
        path = write(tmp_path, ROUTING.format(smtp_port=25, hook_url=hook.url))
        clock = Clock(T0)
        notifier = BuiltinNotifier.from_file(path, clock=clock)
        try:
            # started long ago: no group_wait; no endsAt: resolves after resolve_timeout (5m)
            notifier.send([alert("HighErrorRate", "api", starts=T0 - 600)])
            notifier.tick(T0)
            assert statuses(hook.wait_for(1)[0]) == {"api": "firing"}
            notifier.tick(T0 + 300)
            assert statuses(hook.wait_for(2)[1]) == {"api": "resolved"}
            assert notifier.dispatcher.group_count() == 0
        finally:
            notifier.stop()


def test_group_by_all_and_continue(tmp_path: Path) -> None:
    with HttpSink() as hook:
        path = write(tmp_path, ROUTING.format(smtp_port=25, hook_url=hook.url))
        route = load_config(path).route
        db = {"alertname": "Slow", "team": "db", "severity": "warning"}
        [only] = route.match(db)
        assert only.group_by_all
        assert only.receiver == "hook"
        assert only.group_labels(db) == db
        page_db = {**db, "severity": "page"}
        assert [r.receiver for r in route.match(page_db)] == ["mail", "hook"]
        assert [r.receiver for r in route.match({"alertname": "X"})] == ["hook"]
        text = ROUTING.format(smtp_port=25, hook_url=hook.url)
        empty = load_config(write(tmp_path, text.replace("group_by: ['...']", "group_by: []"), "e"))
        assert empty.route.routes[1].group_by == frozenset({"alertname"})  # [] inherits
        assert route.match({"alertname": "X"})[0] is route


def test_real_thread_delivers(tmp_path: Path) -> None:
    with HttpSink() as hook:
        fast = ROUTING.format(smtp_port=25, hook_url=hook.url).replace(
            "group_wait: 30s", "group_wait: 0s"
        )
        notifier = BuiltinNotifier.from_file(write(tmp_path, fast))
        notifier.start()
        try:
            notifier.send([Alert({"alertname": "Now", "service": "x"}, {}, 1.0, None)])
            assert statuses(hook.wait_for(1)[0]) == {"x": "firing"}
        finally:
            notifier.stop()


def test_fanout_survives_a_failing_sink(tmp_path: Path) -> None:
    class Broken:
        def send(self, alerts: Sequence[Alert]) -> None:
            raise RuntimeError("boom")

    with HttpSink() as hook:
        fast = ROUTING.format(smtp_port=25, hook_url=hook.url)
        notifier = BuiltinNotifier.from_file(write(tmp_path, fast), clock=Clock(T0))
        try:
            Fanout([Broken(), notifier]).send([alert("HighErrorRate", "api", ends=T0 + 60)])
            notifier.tick(T0 + 30)
            assert statuses(hook.wait_for(1)[0]) == {"api": "firing"}
        finally:
            notifier.stop()


def test_restart_does_not_repeat_a_sent_notification(tmp_path: Path) -> None:
    with HttpSink() as hook:
        path = write(tmp_path, ROUTING.format(smtp_port=25, hook_url=hook.url))
        data = tmp_path / "data"
        firing = [alert("HighErrorRate", "api", ends=T0 + 3600)]
        first = BuiltinNotifier.from_file(path, data, clock=Clock(T0))
        try:
            first.send(firing)
            first.tick(T0 + 30)
            hook.wait_for(1)
        finally:
            first.stop()
        later = Clock(T0 + 120)  # a new process: rules re-send what is still firing
        second = BuiltinNotifier.from_file(path, data, clock=later)
        try:
            second.send(firing)
            second.tick(T0 + 120)  # old alert: flushed at once, but already notified
            assert len(hook.posts) == 1
            second.send([*firing, alert("HighErrorRate", "web", ends=T0 + 3600)])
            second.tick(T0 + 420)
            assert statuses(hook.wait_for(2)[1]) == {"api": "firing", "web": "firing"}
        finally:
            second.stop()


def test_reload_keeps_alerts_and_sends_nothing_twice(tmp_path: Path) -> None:
    with HttpSink() as hook:
        path = write(tmp_path, ROUTING.format(smtp_port=25, hook_url=hook.url))
        clock = Clock(T0)
        notifier = BuiltinNotifier.from_file(path, clock=clock)
        try:
            notifier.send([alert("HighErrorRate", "api", ends=T0 + 3600)])
            notifier.tick(T0 + 30)
            hook.wait_for(1)
            clock.now = T0 + 60
            notifier.apply_config(load_config(path))
            notifier.tick(T0 + 60)  # regrouped at once (old alert), but already notified
            assert len(hook.posts) == 1
            notifier.send([alert("HighErrorRate", "web", ends=T0 + 3600)])
            notifier.tick(T0 + 360)
            assert statuses(hook.wait_for(2)[1]) == {"api": "firing", "web": "firing"}
        finally:
            notifier.stop()
