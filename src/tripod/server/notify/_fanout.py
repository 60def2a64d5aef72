"""One sink that hands every batch to several (the Alertmanager client and the built-in
notifier can both be configured at once)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tripod.server.notify.model import Alert, AlertSink

__all__ = ["Fanout"]

_log = logging.getLogger("tripod.server.notify")


class Fanout:
    """An :class:`AlertSink` over ``sinks``; one failing sink never stops the others."""

    def __init__(self, sinks: Sequence[AlertSink]) -> None:
        self.sinks = tuple(sinks)

    def send(self, alerts: Sequence[Alert]) -> None:
        for sink in self.sinks:
            try:
                sink.send(alerts)
            except Exception:
                _log.exception("alert sink %r failed", sink)
