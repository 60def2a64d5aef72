"""Notification: alerts from the rule evaluator to Alertmanager (API v2) or a built-in notifier.

Wiring (``tripod serve``)::

    client = AlertmanagerClient(parse_alerting(None, urls), registry=ctx.registry,
                                external_labels=external_labels)   # prometheus_notifications_*
    builtin = BuiltinNotifier.from_file(alertmanager_yml, data_dir, external_url=public_url)
    sink = Fanout([client, builtin])   # hand to the rules manager; start() both, stop() both
    routes(builtin.silences, builtin)  # /api/v2/silences, /api/v2/silence/{id}, /api/v2/alerts
"""

from tripod.server.notify._fanout import Fanout
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
    "NotifierConfig",
    "Relabeller",
    "SilenceStore",
    "load_config",
    "parse_alerting",
    "parse_config",
    "routes",
]
