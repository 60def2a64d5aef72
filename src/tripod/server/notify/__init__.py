"""Notification: alerts from the rule evaluator to Alertmanager (API v2) or a built-in notifier.

Wiring (``tripod serve``)::

    notification = build_notification(
        alertmanager_urls=cfg.alerting.alertmanager_urls,        # -> AlertmanagerClient
        alertmanager_config=cfg.alerting.alertmanager_config,    # -> BuiltinNotifier
        data_dir=cfg.data_dir, registry=ctx.registry,
        external_labels=cfg.global_config.external_labels, external_url=public_url,
    )
    notification.sink     # the AlertSink for the rules manager
    notification.routes   # /api/v2/silences, /api/v2/silence/{id}, /api/v2/alerts (built-in only)
    notification.start() / notification.stop()   # in the app's lifespan
"""

from tripod.server.notify._fanout import Fanout
from tripod.server.notify._setup import Notification, build_notification
from tripod.server.notify.amconfig import NotifierConfig, load_config, parse_config
from tripod.server.notify.api import routes
from tripod.server.notify.client import (
    AlertingConfig,
    AlertmanagerClient,
    ConfigError,
    Relabeller,
    parse_alerting,
)
from tripod.server.notify.model import Alert, AlertSink
from tripod.server.notify.notifier import BuiltinNotifier
from tripod.server.notify.silences import SilenceStore

__all__ = [
    "Alert",
    "AlertSink",
    "AlertingConfig",
    "AlertmanagerClient",
    "BuiltinNotifier",
    "ConfigError",
    "Fanout",
    "Notification",
    "NotifierConfig",
    "Relabeller",
    "SilenceStore",
    "build_notification",
    "load_config",
    "parse_alerting",
    "parse_config",
    "routes",
]
