"""What the rule evaluator hands to notification: an alert as Prometheus's notifier sends it.

The rules package builds :class:`Alert` values (labels, annotations, ``startsAt``/``endsAt``,
``generatorURL``) and hands batches to an :class:`AlertSink`: the Alertmanager v2 client or the
built-in notifier. Both sit below the rules, so the arrow points rules -> notify, never back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Protocol

__all__ = ["Alert", "AlertSink"]


@dataclasses.dataclass(frozen=True)
class Alert:
    """One alert in Alertmanager API v2 terms; times are Unix seconds.

    ``ends_at`` is set for resolved alerts (the resolve time) and, as Prometheus does, for firing
    ones too (a validity horizon of four resend intervals), so an Alertmanager that stops hearing
    from us resolves the alert by itself.
    """

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: float
    ends_at: float | None = None
    generator_url: str = ""


class AlertSink(Protocol):
    """Where the rule evaluator sends alerts: must not block for long and must never raise."""

    def send(self, alerts: Sequence[Alert]) -> None: ...
