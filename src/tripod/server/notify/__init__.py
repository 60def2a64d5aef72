"""Notification: alerts from the rule evaluator to Alertmanager (API v2) or a built-in notifier."""

from tripod.server.notify.model import Alert, AlertSink

__all__ = ["Alert", "AlertSink"]
