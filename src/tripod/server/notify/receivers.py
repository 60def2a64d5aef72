"""What the built-in notifier sends: Alertmanager's webhook JSON (version 4), Slack's incoming
webhook JSON and SMTP email. Each integration raises :class:`NotifyError` when delivery fails."""

from __future__ import annotations

import dataclasses
import email.policy
import quopri
import smtplib
import ssl
import time
import uuid
from collections.abc import Sequence
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import formatdate, getaddresses
from pathlib import Path
from typing import Any, Protocol

import httpx

from tripod import __version__
from tripod.server.notify._receiver_config import EmailConfig, SlackConfig, WebhookConfig
from tripod.server.notify._wire import format_nanos, go_json
from tripod.server.notify.templates import (
    KV,
    AlertData,
    AlertList,
    NotificationData,
    TemplateError,
)

__all__ = [
    "EmailIntegration",
    "Integration",
    "NotifyError",
    "SlackIntegration",
    "WebhookIntegration",
    "notification_data",
]

_TIMEOUT_S = 10.0
_SLACK_TITLE_RUNES = 1024


class NotifyError(RuntimeError):
    """A notification that did not go out; the message names the integration and the cause."""


class Integration(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def send_resolved(self) -> bool: ...

    def notify(self, data: NotificationData, group_key: str) -> None: ...


def notification_data(
    receiver: str, group_labels: dict[str, str], alerts: Sequence[AlertData], external_url: str
) -> NotificationData:
    """Alertmanager's ``template.Data`` for one notification."""
    common_labels: dict[str, str] = dict(alerts[0].labels) if alerts else {}
    common_annotations: dict[str, str] = dict(alerts[0].annotations) if alerts else {}
    for a in alerts[1:]:
        common_labels = {k: v for k, v in common_labels.items() if a.labels.get(k) == v}
        common_annotations = {
            k: v for k, v in common_annotations.items() if a.annotations.get(k) == v
        }
    status = "firing" if any(a.status == "firing" for a in alerts) else "resolved"
    return NotificationData(
        receiver=receiver,
        status=status,
        alerts=AlertList(alerts),
        group_labels=KV(group_labels),
        common_labels=KV(common_labels),
        common_annotations=KV(common_annotations),
        external_url=external_url,
    )


def _sorted(kv: dict[str, str]) -> dict[str, str]:
    return dict(sorted(kv.items()))


def webhook_body(data: NotificationData, group_key: str, truncated: int) -> bytes:
    """Alertmanager's webhook ``Message`` as its ``json.Encoder`` writes it."""
    body: dict[str, Any] = {
        "receiver": data.receiver,
        "status": data.status,
        "alerts": [
            {
                "status": a.status,
                "labels": _sorted(a.labels),
                "annotations": _sorted(a.annotations),
                "startsAt": format_nanos(a.starts_at),
                "endsAt": format_nanos(a.ends_at),
                "generatorURL": a.generator_url,
                "fingerprint": a.fingerprint,
            }
            for a in data.alerts
        ],
        "groupLabels": _sorted(data.group_labels),
        "commonLabels": _sorted(data.common_labels),
        "commonAnnotations": _sorted(data.common_annotations),
        "externalURL": data.external_url,
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": truncated,
    }
    return go_json(body)


class _Http:
    def __init__(self, transport: httpx.BaseTransport | None) -> None:
        self.client = httpx.Client(
            transport=transport,
            timeout=_TIMEOUT_S,
            headers={"User-Agent": f"tripod/{__version__}", "Content-Type": "application/json"},
        )

    def post(self, what: str, url: str, body: bytes) -> None:
        try:
            response = self.client.post(url, content=body)
        except httpx.HTTPError as exc:
            msg = f"{what}: {type(exc).__name__}: {exc}"
            raise NotifyError(msg) from None
        if response.status_code // 100 != 2:
            msg = f"{what}: unexpected status code {response.status_code}: {response.text[:200]}"
            raise NotifyError(msg)


@dataclasses.dataclass
class WebhookIntegration:
    config: WebhookConfig
    http: _Http
    name: str = "webhook"

    @property
    def send_resolved(self) -> bool:
        return self.config.send_resolved

    def notify(self, data: NotificationData, group_key: str) -> None:
        limit, truncated = self.config.max_alerts, 0
        if limit and len(data.alerts) > limit:
            truncated = len(data.alerts) - limit
            data = notification_data(
                data.receiver, dict(data.group_labels), data.alerts[:limit], data.external_url
            )
        self.http.post("webhook", self.config.url, webhook_body(data, group_key, truncated))


def _render(fields: dict[str, Any], data: NotificationData) -> dict[str, str]:
    try:
        return {name: t.render(data) for name, t in fields.items()}
    except TemplateError as exc:
        msg = f"template: {exc}"
        raise NotifyError(msg) from None


@dataclasses.dataclass
class SlackIntegration:
    config: SlackConfig
    http: _Http
    name: str = "slack"

    @property
    def send_resolved(self) -> bool:
        return self.config.send_resolved

    def notify(self, data: NotificationData, group_key: str) -> None:
        f = _render(dict(self.config.fields), data)
        attachment: dict[str, Any] = {}
        for key, value in (("title", f["title"][:_SLACK_TITLE_RUNES]),
                           ("title_link", f["title_link"]), ("pretext", f["pretext"])):  # fmt: skip
            if value:
                attachment[key] = value
        attachment.update(text=f["text"], fallback=f["fallback"], callback_id=f["callback_id"],
                          footer=f["footer"])  # fmt: skip
        if f["color"]:
            attachment["color"] = f["color"]
        attachment["mrkdwn_in"] = ["fallback", "pretext", "text"]
        request: dict[str, Any] = {}
        for key in ("channel", "username", "icon_emoji", "icon_url"):
            if f[key]:
                request[key] = f[key]
        request["attachments"] = [attachment]
        url = self.config.api_url
        if not url:
            try:
                url = Path(self.config.api_url_file).read_text().strip()
            except OSError as exc:
                msg = f"slack: api_url_file: {exc}"
                raise NotifyError(msg) from None
        self.http.post(f"slack channel {f['channel']!r}", url, go_json(request))


_CRLF = email.policy.compat32.clone(linesep="\r\n")


def _text_part(text: str) -> MIMENonMultipart:
    """A quoted-printable text/plain part as Go's ``quotedprintable.Writer`` writes it for
    Alertmanager: line breaks become CRLF, nothing is appended."""
    crlf = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
    part = MIMENonMultipart("text", "plain", charset="UTF-8")
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(quopri.encodestring(crlf).decode("ascii"))
    return part


@dataclasses.dataclass
class EmailIntegration:
    config: EmailConfig
    name: str = "email"

    @property
    def send_resolved(self) -> bool:
        return self.config.send_resolved

    def _password(self) -> str:
        cfg = self.config
        if cfg.auth_password_file:
            try:
                return Path(cfg.auth_password_file).read_text().strip()
            except OSError as exc:
                msg = f"email: auth_password_file: {exc}"
                raise NotifyError(msg) from None
        return cfg.auth_password

    def _tls(self) -> ssl.SSLContext:
        cfg = self.config
        context = ssl.create_default_context(cafile=cfg.ca_file or None)
        if cfg.insecure_skip_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def notify(self, data: NotificationData, group_key: str) -> None:
        cfg = self.config
        try:
            headers = _render(dict(cfg.headers), data)
            rendered = _render({"to": cfg.to, "from": cfg.sender, "text": cfg.text}, data)
            senders = [a for _, a in getaddresses([rendered["from"]]) if a]
            recipients = [a for _, a in getaddresses([rendered["to"]]) if a]
            if len(senders) != 1 or not recipients:
                msg = f"email: need exactly one 'from' and at least one 'to' address ({rendered})"
                raise NotifyError(msg)
            message = MIMEMultipart("alternative")
            for name, value in headers.items():
                message[name] = value
            if "Message-Id" not in headers:
                message["Message-Id"] = f"<{time.time_ns()}.{uuid.uuid4().int}@{cfg.hello}>"
            message["Date"] = formatdate()
            message.attach(_text_part(rendered["text"]))
            # CRLF line ends on the wire (smtplib does not fix them in bytes), as RFC 5321 wants
            self._deliver(senders[0], recipients, message.as_bytes(policy=_CRLF))
        except (OSError, smtplib.SMTPException) as exc:
            msg = f"email to {cfg.host}:{cfg.port}: {type(exc).__name__}: {exc}"
            raise NotifyError(msg) from None

    def _deliver(self, sender: str, recipients: list[str], body: bytes) -> None:
        cfg = self.config
        smtp: smtplib.SMTP
        if cfg.port == 465:
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, local_hostname=cfg.hello,
                                    timeout=_TIMEOUT_S, context=self._tls())  # fmt: skip
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, local_hostname=cfg.hello, timeout=_TIMEOUT_S)
        with smtp:
            smtp.ehlo(cfg.hello)
            if cfg.require_tls and cfg.port != 465:
                if not smtp.has_extn("starttls"):
                    msg = (
                        f"'require_tls' is true (default) but {cfg.host}:{cfg.port} does not "
                        "advertise the STARTTLS extension"
                    )
                    raise NotifyError(msg)
                smtp.starttls(context=self._tls())
                smtp.ehlo(cfg.hello)
            if smtp.has_extn("auth") and cfg.auth_username:
                smtp.login(cfg.auth_username, self._password())
            smtp.sendmail(sender, recipients, body)


def make_http(transport: httpx.BaseTransport | None = None) -> _Http:
    return _Http(transport)
