"""Receiver entries of alertmanager.yml: ``webhook_configs``, ``slack_configs``, ``email_configs``.

Defaults are Alertmanager 0.25's: webhooks send resolved notifications, Slack and email do not;
Slack's title/text/colour are its default templates; email requires STARTTLS unless
``require_tls: false``. Secrets can be read from ``*_file`` when a notification is sent.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Mapping
from typing import Any

from tripod.server.notify.client import ConfigError
from tripod.server.notify.templates import Template, TemplateError, check

__all__ = [
    "EMAIL_TEXT_DEFAULT",
    "EmailConfig",
    "ReceiverConfig",
    "SlackConfig",
    "WebhookConfig",
    "parse_receiver",
]

_WEBHOOK = {"url", "send_resolved", "max_alerts"}
_SLACK = {
    "api_url", "api_url_file", "channel", "username", "color", "title", "title_link", "pretext",
    "text", "fallback", "callback_id", "footer", "icon_emoji", "icon_url", "send_resolved",
}  # fmt: skip
_EMAIL = {
    "to", "from", "hello", "smarthost", "auth_username", "auth_password", "auth_password_file",
    "auth_identity", "require_tls", "headers", "text", "tls_config", "send_resolved",
}  # fmt: skip
_TLS = {"ca_file", "insecure_skip_verify", "server_name"}
_SLACK_DEFAULTS = {
    "color": '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}',
    "username": '{{ template "slack.default.username" . }}',
    "title": '{{ template "slack.default.title" . }}',
    "title_link": '{{ template "slack.default.titlelink" . }}',
    "icon_emoji": '{{ template "slack.default.iconemoji" . }}',
    "icon_url": '{{ template "slack.default.iconurl" . }}',
    "pretext": '{{ template "slack.default.pretext" . }}',
    "text": '{{ template "slack.default.text" . }}',
    "fallback": '{{ template "slack.default.fallback" . }}',
    "callback_id": '{{ template "slack.default.callbackid" . }}',
    "footer": '{{ template "slack.default.footer" . }}',
    "channel": "",
}
# Alertmanager's default email body is its HTML template, which we do not reproduce; without a
# ``text`` field the built-in notifier sends this plain-text body in its place.
EMAIL_TEXT_DEFAULT = (
    '{{ template "__subject" . }}\n'
    "{{ if .Alerts.Firing }}\nAlerts Firing:\n"
    '{{ template "__text_alert_list" .Alerts.Firing }}{{ end }}'
    "{{ if .Alerts.Resolved }}\nAlerts Resolved:\n"
    '{{ template "__text_alert_list" .Alerts.Resolved }}{{ end }}'
)


@dataclasses.dataclass(frozen=True)
class WebhookConfig:
    url: str
    send_resolved: bool = True
    max_alerts: int = 0


@dataclasses.dataclass(frozen=True)
class SlackConfig:
    api_url: str
    api_url_file: str
    fields: Mapping[str, Template]
    send_resolved: bool = False


@dataclasses.dataclass(frozen=True)
class EmailConfig:
    to: Template
    sender: Template
    host: str
    port: int
    hello: str
    auth_username: str
    auth_password: str
    auth_password_file: str
    auth_identity: str
    require_tls: bool
    headers: Mapping[str, Template]
    text: Template
    ca_file: str = ""
    insecure_skip_verify: bool = False
    server_name: str = ""
    send_resolved: bool = False


@dataclasses.dataclass(frozen=True)
class ReceiverConfig:
    name: str
    webhooks: tuple[WebhookConfig, ...] = ()
    slacks: tuple[SlackConfig, ...] = ()
    emails: tuple[EmailConfig, ...] = ()


def _fields(raw: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        msg = f"{where}: expected a mapping"
        raise ConfigError(msg)
    extra = sorted(set(raw) - allowed)
    if extra:
        msg = (
            f"{where}.{extra[0]}: not supported by tripod's built-in notifier "
            f"(supported here: {', '.join(sorted(allowed))})"
        )
        raise ConfigError(msg)
    return raw


def _template(source: Any, where: str) -> Template:
    try:
        return check(str(source), where)
    except TemplateError as exc:
        raise ConfigError(str(exc)) from None


def _bool(raw: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        msg = f"{where}.{key}: expected true or false, got {value!r}"
        raise ConfigError(msg)
    return value


def _http_url(value: Any, where: str) -> str:
    url = str(value or "")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        msg = f"{where}: {url!r} is not an http(s) URL"
        raise ConfigError(msg)
    return url


def _webhook(raw: Any, where: str) -> WebhookConfig:
    raw = _fields(raw, _WEBHOOK, where)
    if "url" not in raw:
        msg = f"{where}.url: missing URL in webhook config (url_file needs Alertmanager 0.26+)"
        raise ConfigError(msg)
    max_alerts = raw.get("max_alerts", 0)
    if not isinstance(max_alerts, int) or isinstance(max_alerts, bool) or max_alerts < 0:
        msg = f"{where}.max_alerts: expected a non-negative integer, got {max_alerts!r}"
        raise ConfigError(msg)
    return WebhookConfig(
        _http_url(raw["url"], f"{where}.url"),
        _bool(raw, "send_resolved", True, where),
        max_alerts,
    )


def _slack(raw: Any, glob: Mapping[str, Any], where: str) -> SlackConfig:
    raw = _fields(raw, _SLACK, where)
    if raw.get("api_url") and raw.get("api_url_file"):
        msg = f"{where}: at most one of api_url & api_url_file must be configured"
        raise ConfigError(msg)
    api_url, api_file = raw.get("api_url", ""), raw.get("api_url_file", "")
    if not api_url and not api_file:
        api_url, api_file = glob.get("slack_api_url", ""), glob.get("slack_api_url_file", "")
        if not api_url and not api_file:
            msg = f"{where}.api_url: no global Slack API URL set either inline or in a file"
            raise ConfigError(msg)
    if api_url:
        api_url = _http_url(api_url, f"{where}.api_url")
    fields = {
        name: _template(raw.get(name, default), f"{where}.{name}")
        for name, default in _SLACK_DEFAULTS.items()
    }
    return SlackConfig(api_url, str(api_file), fields, _bool(raw, "send_resolved", False, where))


def _email(raw: Any, glob: Mapping[str, Any], where: str) -> EmailConfig:
    raw = _fields(raw, _EMAIL, where)
    if not raw.get("to"):
        msg = f"{where}.to: missing to address in email config"
        raise ConfigError(msg)
    smarthost = str(raw.get("smarthost") or glob.get("smtp_smarthost") or "")
    if not smarthost:
        msg = f"{where}.smarthost: no global SMTP smarthost set"
        raise ConfigError(msg)
    host, sep, port = smarthost.rpartition(":")
    if not sep or not host or not port.isdigit():
        msg = f"{where}.smarthost: {smarthost!r} is not host:port"
        raise ConfigError(msg)
    sender = raw.get("from") or glob.get("smtp_from")
    if not sender:
        msg = f"{where}.from: no global SMTP from set"
        raise ConfigError(msg)
    password, password_file = raw.get("auth_password", ""), raw.get("auth_password_file", "")
    if password and password_file:
        msg = f"{where}: at most one of auth_password & auth_password_file must be configured"
        raise ConfigError(msg)
    if not password and not password_file:
        password = glob.get("smtp_auth_password", "")
        password_file = glob.get("smtp_auth_password_file", "")
    tls = _fields(raw.get("tls_config") or {}, _TLS, f"{where}.tls_config")
    headers_raw = raw.get("headers") or {}
    if not isinstance(headers_raw, dict):
        msg = f"{where}.headers: expected a mapping of header name to template"
        raise ConfigError(msg)
    headers: dict[str, Template] = {}
    for name, value in headers_raw.items():
        canonical = "-".join(p.capitalize() for p in str(name).split("-"))
        if canonical in headers:
            msg = f"{where}.headers: duplicate header {canonical!r} in email config"
            raise ConfigError(msg)
        headers[canonical] = _template(value, f"{where}.headers.{name}")
    headers.setdefault("Subject", _template('{{ template "email.default.subject" . }}', where))
    to = _template(raw["to"], f"{where}.to")
    from_ = _template(sender, f"{where}.from")
    headers.setdefault("To", to)
    headers.setdefault("From", from_)
    return EmailConfig(
        to=to,
        sender=from_,
        host=host.strip("[]"),
        port=int(port),
        hello=str(raw.get("hello") or glob.get("smtp_hello") or "localhost"),
        auth_username=str(raw.get("auth_username") or glob.get("smtp_auth_username") or ""),
        auth_password=str(password or ""),
        auth_password_file=str(password_file or ""),
        auth_identity=str(raw.get("auth_identity") or glob.get("smtp_auth_identity") or ""),
        require_tls=_bool(raw, "require_tls", bool(glob.get("smtp_require_tls", True)), where),
        headers=headers,
        text=_template(raw.get("text") or EMAIL_TEXT_DEFAULT, f"{where}.text"),
        ca_file=str(tls.get("ca_file", "")),
        insecure_skip_verify=_bool(tls, "insecure_skip_verify", False, f"{where}.tls_config"),
        server_name=str(tls.get("server_name", "")),
        send_resolved=_bool(raw, "send_resolved", False, where),
    )


def parse_receiver(raw: Mapping[str, Any], glob: Mapping[str, Any], where: str) -> ReceiverConfig:
    allowed = {"name", "webhook_configs", "slack_configs", "email_configs"}
    _fields(raw, allowed, where)
    name = raw.get("name")
    if not name or not isinstance(name, str):
        msg = f"{where}.name: missing name in receiver"
        raise ConfigError(msg)
    lists: dict[str, list[Any]] = {}
    for key in ("webhook_configs", "slack_configs", "email_configs"):
        items = raw.get(key) or []
        if not isinstance(items, list):
            msg = f"{where}.{key}: expected a list"
            raise ConfigError(msg)
        lists[key] = items
    return ReceiverConfig(
        name=name,
        webhooks=tuple(
            _webhook(c, f"{where}.webhook_configs[{i}]")
            for i, c in enumerate(lists["webhook_configs"])
        ),
        slacks=tuple(
            _slack(c, glob, f"{where}.slack_configs[{i}]")
            for i, c in enumerate(lists["slack_configs"])
        ),
        emails=tuple(
            _email(c, glob, f"{where}.email_configs[{i}]")
            for i, c in enumerate(lists["email_configs"])
        ),
    )
