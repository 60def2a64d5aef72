"""Everything ``tripod serve`` runs for notifications, built from its settings in one call."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry
from starlette.routing import BaseRoute

from tripod.server.notify._fanout import Fanout
from tripod.server.notify._nflog import NotificationLog
from tripod.server.notify.amconfig import parse_config
from tripod.server.notify.api import routes
from tripod.server.notify.client import AlertmanagerClient, parse_alerting
from tripod.server.notify.notifier import NFLOG_FILE, SILENCES_FILE, BuiltinNotifier
from tripod.server.notify.silences import SilenceStore

__all__ = ["Notification", "build_notification"]

#: the built-in notifier's routing when nothing else is configured and ``keep_alerts`` is set:
#: alerts are kept (``GET /api/v2/alerts``) and can be silenced; nothing is sent anywhere
_KEEP_ONLY = {"route": {"receiver": "none"}, "receivers": [{"name": "none"}]}


@dataclasses.dataclass
class Notification:
    """The alert sink to hand the rules manager, the HTTP routes, and start/stop for the app's
    lifespan. With nothing configured the sink drops alerts and there are no routes."""

    sink: Fanout
    routes: list[BaseRoute]
    client: AlertmanagerClient | None = None
    builtin: BuiltinNotifier | None = None

    def start(self) -> None:
        for part in (self.client, self.builtin):
            if part is not None:
                part.start()

    def stop(self) -> None:
        for part in (self.client, self.builtin):
            if part is not None:
                part.stop()


def build_notification(
    *,
    alertmanager_urls: Sequence[str] = (),
    alertmanager_config: Path | None = None,
    data_dir: Path | None = None,
    registry: CollectorRegistry | None = None,
    external_labels: Mapping[str, str] | None = None,
    external_url: str = "http://127.0.0.1:4318",
    keep_alerts: bool = False,
) -> Notification:
    """Raises ConfigError (naming the file and field) for a bad URL or routing file.

    With ``keep_alerts`` and neither URLs nor a routing file, a built-in notifier that sends
    nothing still serves the Alertmanager API, so the web UI can list alerts and silence them.
    """
    client = builtin = None
    if alertmanager_urls:
        client = AlertmanagerClient(
            parse_alerting(None, alertmanager_urls),
            registry=registry,
            external_labels=external_labels,
        )
    if alertmanager_config is not None:
        builtin = BuiltinNotifier.from_file(
            alertmanager_config,
            data_dir,
            external_url=external_url,
            registry=registry,
            external_labels=external_labels,
        )
    elif keep_alerts and not alertmanager_urls:
        builtin = BuiltinNotifier(
            parse_config(_KEEP_ONLY),
            silences=SilenceStore(data_dir / SILENCES_FILE if data_dir else None),
            nflog=NotificationLog(data_dir / NFLOG_FILE if data_dir else None),
            external_url=external_url,
            registry=registry,
            external_labels=external_labels,
        )
    sinks = [s for s in (client, builtin) if s is not None]
    found = routes(builtin.silences, builtin) if builtin is not None else []
    return Notification(Fanout(sinks), found, client, builtin)
