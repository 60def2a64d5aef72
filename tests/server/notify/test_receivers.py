"""Templates, Slack's incoming-webhook JSON, and email over STARTTLS with AUTH (aiosmtpd)."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.server.notify.sinks import HttpSink, SmtpSink, checked
from tripod.server.notify import Alert
from tripod.server.notify.notifier import BuiltinNotifier
from tripod.server.notify.templates import (
    KV,
    AlertData,
    AlertList,
    NotificationData,
    Template,
    TemplateError,
)

T0 = 1_800_000_000.0


def data(status: str = "firing") -> NotificationData:
    a = AlertData("firing", KV(alertname="Down", job="api", sev="page"), KV(summary="api down"),
                  T0, None, "http://g/1", "a" * 16)  # fmt: skip
    b = AlertData("resolved", KV(alertname="Down", job="web", sev="page"), KV(summary="web down"),
                  T0, T0 + 90.5, "http://g/2", "b" * 16)  # fmt: skip
    return NotificationData("team-x", status, AlertList([a, b]), KV(alertname="Down"),
                            KV(alertname="Down", sev="page"), KV(), "http://am:9093")  # fmt: skip


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ template "slack.default.title" . }}', "[FIRING:1] Down (page)"),
        ('{{ template "slack.default.titlelink" . }}', "http://am:9093/#/alerts?receiver=team-x"),
        ('{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}', "danger"),
        ("{{ .CommonLabels.sev | toUpper }} {{ .CommonLabels.missing }}|", "PAGE |"),
        (
            "{{ range .Alerts }}{{ .Labels.job }}={{ .Status }};{{ end }}",
            "api=firing;web=resolved;",
        ),
        ("{{ range .Alerts.Resolved }}{{ .EndsAt }}{{ end }}", "2027-01-15 08:01:30.5 +0000 UTC"),
        ("{{ len .Alerts.Firing }}/{{ .Alerts | len }}", "1/2"),
        ("a  {{- .Receiver -}}  b", "ateam-xb"),
        ('{{ if eq .Status "x" }}1{{ else if gt (len .Alerts) 1 }}2{{ end }}', None),
        ('{{ if eq .Status "x" }}1{{ else if .Alerts }}2{{ else }}3{{ end }}', "2"),
        ('{{ .GroupLabels.alertname | title }} {{ "lit" }} {{ 42 }}', "Down lit 42"),
        ("{{ .Alerts.Firing }}", None),
        ("{{ .Nope }}", None),
        ("{{ range .CommonLabels.SortedPairs }}{{ end }}", None),
        ('{{ if eq .Status "never" }}{{ .Nope }}{{ end }}', None),  # checked in every branch
        ("{{ range .Alerts }}{{ .CommonLabels.x }}{{ end }}", None),  # dot is an alert here
        ("{{ range .Status }}{{ end }}", None),
        ("{{ $x := 1 }}", None),
        ("{{ if .Status }}", None),
        ('{{ template "__subject" .Alerts }}', None),
    ],
)
def test_template_subset(source: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(TemplateError):
            Template(source)  # refused when parsed, before any data is rendered
    else:
        assert Template(source).render(data()) == expected


def test_subject_without_extra_common_labels_keeps_alertmanagers_trailing_space() -> None:
    d = data("resolved")
    d2 = NotificationData(d.receiver, "resolved", d.alerts, d.group_labels,
                          KV(alertname="Down"), d.common_annotations, d.external_url)  # fmt: skip
    assert Template('{{ template "__subject" . }}').render(d2) == "[RESOLVED] Down "


def test_slack_body(tmp_path: Path) -> None:
    with HttpSink() as slack:
        url_file = tmp_path / "slack-url"
        url_file.write_text(slack.url + "/services/T0/B0/x\n")
        config = checked({
            "global": {"slack_api_url_file": str(url_file)},
            "route": {"receiver": "chat", "group_by": ["alertname"], "group_wait": "0s"},
            "receivers": [{"name": "chat", "slack_configs": [{
                "channel": "#ops",
                "text": "{{ range .Alerts }}{{ .Annotations.summary }} {{ end }}",
            }]}],
        }, tmp_path)  # fmt: skip
        notifier = BuiltinNotifier(config, external_url="http://tripod:4318")
        try:
            notifier.send([Alert({"alertname": "Down", "job": "api"}, {"summary": "api <down>"},
                                 T0, T0 + 600)])  # fmt: skip
            notifier.tick(T0 + 1)
            [body] = slack.wait_for(1)
        finally:
            notifier.stop()
        assert slack.posts[0][0] == "/services/T0/B0/x"
        assert b"api \\u003cdown\\u003e" in slack.posts[0][2]  # Go's json.Encoder escaping
        assert body == {
            "channel": "#ops",
            "username": "Alertmanager",
            "attachments": [{
                "title": "[FIRING:1] Down (api)",
                "title_link": "http://tripod:4318/#/alerts?receiver=chat",
                "text": "api <down> ",
                "fallback": "[FIRING:1] Down (api) | http://tripod:4318/#/alerts?receiver=chat",
                "callback_id": "",
                "footer": "",
                "color": "danger",
                "mrkdwn_in": ["fallback", "pretext", "text"],
            }],
        }  # fmt: skip


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_email_starttls_and_auth(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    with SmtpSink(tls=context, users={"alerts": "s3cret"}) as smtp:
        config = {
            "global": {"smtp_smarthost": f"127.0.0.1:{smtp.port}", "smtp_from": "am@example.org"},
            "route": {"receiver": "mail", "group_by": ["alertname"], "group_wait": "0s"},
            "receivers": [{"name": "mail", "email_configs": [{
                "to": "a@example.org, b@example.org", "auth_username": "alerts",
                "auth_password_file": str(secret), "tls_config": {"ca_file": str(cert)},
                "headers": {"Subject": "{{ .CommonLabels.alertname }} is {{ .Status }}"},
                "send_resolved": True,
            }]}],
        }  # fmt: skip
        registry = CollectorRegistry()
        notifier = BuiltinNotifier(checked(config, tmp_path), registry=registry)
        try:
            notifier.send([Alert({"alertname": "Down"}, {}, T0, T0 + 600)])
            notifier.tick(T0 + 1)
            notifier.send([Alert({"alertname": "Down"}, {}, T0, T0 + 700)])
            notifier.tick(T0 + 701)  # resolved: sent, since send_resolved is true
            messages = smtp.wait_for(2)
        finally:
            notifier.stop()
        assert smtp.logins == ["alerts", "alerts"]
        email = {"integration": "email"}
        assert registry.get_sample_value("alertmanager_notifications_total", email) == 2
        assert registry.get_sample_value("alertmanager_notifications_failed_total", email) == 0
        assert [m["Subject"] for _, m in messages] == ["Down is firing", "Down is resolved"]
        assert messages[0][0].rcpt_tos == ["a@example.org", "b@example.org"]

        # The same server refuses to work without STARTTLS: the notifier logs and retries later.
        plain = dict(config)
        plain["receivers"] = [{"name": "mail", "email_configs": [
            {"to": "a@example.org", "require_tls": False}]}]  # fmt: skip
        notifier = BuiltinNotifier(checked(plain, tmp_path), registry=registry)
        try:
            notifier.send([Alert({"alertname": "Other"}, {}, T0, T0 + 600)])
            notifier.tick(T0 + 1)
            assert registry.get_sample_value("alertmanager_notifications_failed_total", email) == 1
            assert registry.get_sample_value("alertmanager_notifications_total", email) == 3
        finally:
            notifier.stop()
        assert len(smtp.wait_for(2, timeout=0.1)) == 2
