"""The built-in notifier: an :class:`~tripod.server.notify.model.AlertSink` for a laptop with no
Alertmanager, configured by an alertmanager.yml (the subset in :mod:`.amconfig`).

Time comes from an injectable clock. Tests call :meth:`BuiltinNotifier.tick` with the times they
choose; ``start()`` runs a thread that ticks whenever a group falls due (and at least once a
second), for production. Silences live in a :class:`~.silences.SilenceStore`, shared with the
``/api/v2/silences`` routes.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, Counter

from tripod.server.notify._nflog import NotificationLog
from tripod.server.notify.amconfig import NotifierConfig, load_config
from tripod.server.notify.dispatch import AlertView, Dispatcher
from tripod.server.notify.model import Alert
from tripod.server.notify.receivers import (
    EmailIntegration,
    Integration,
    SlackIntegration,
    WebhookIntegration,
    make_http,
)
from tripod.server.notify.silences import SilenceStore

__all__ = ["NFLOG_FILE", "SILENCES_FILE", "BuiltinNotifier"]

SILENCES_FILE = "silences.json"
NFLOG_FILE = "nflog.json"
_log = logging.getLogger("tripod.server.notify")
_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, tuple[Counter, Counter]] = (
    weakref.WeakKeyDictionary()
)


def _instruments(registry: CollectorRegistry | None) -> tuple[Counter, Counter]:
    """Alertmanager's own delivery counters, once per registry."""
    if registry is not None and registry in _BY_REGISTRY:
        return _BY_REGISTRY[registry]
    reg = registry if registry is not None else CollectorRegistry()
    made = (
        Counter("alertmanager_notifications", "The total number of attempted notifications.",
                ["integration"], registry=reg),
        Counter("alertmanager_notifications_failed",
                "The total number of failed notifications.", ["integration"], registry=reg),
    )  # fmt: skip
    for counter in made:
        for name in ("email", "slack", "webhook"):
            counter.labels(name)
    if registry is not None:
        _BY_REGISTRY[registry] = made
    return made


def _with_external(alert: Alert, external: Mapping[str, str]) -> Alert:
    missing = {k: v for k, v in external.items() if not alert.labels.get(k)}
    return dataclasses.replace(alert, labels={**alert.labels, **missing}) if missing else alert


class BuiltinNotifier:
    """Routes, groups, inhibits, silences and delivers alerts as Alertmanager would."""

    def __init__(
        self,
        config: NotifierConfig,
        *,
        silences: SilenceStore | None = None,
        clock: Callable[[], float] = time.time,
        external_url: str = "http://127.0.0.1:4318",
        transport: httpx.BaseTransport | None = None,
        nflog: NotificationLog | None = None,
        registry: CollectorRegistry | None = None,
        external_labels: Mapping[str, str] | None = None,
    ) -> None:
        self.clock = clock
        self._external = dict(external_labels or {})
        self._metrics = _instruments(registry)
        self._nflog = nflog if nflog is not None else NotificationLog()
        self.silences = silences if silences is not None else SilenceStore(clock=clock)
        self._http = make_http(transport)
        self._external_url = external_url
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.dispatcher = self._dispatcher(config)

    @classmethod
    def from_file(
        cls,
        path: Path,
        data_dir: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        external_url: str = "http://127.0.0.1:4318",
        transport: httpx.BaseTransport | None = None,
        registry: CollectorRegistry | None = None,
        external_labels: Mapping[str, str] | None = None,
    ) -> BuiltinNotifier:
        """Load ``path`` (raises ConfigError naming the field); silences persist in data_dir."""
        store = SilenceStore(data_dir / SILENCES_FILE if data_dir else None, clock=clock)
        nflog = NotificationLog(data_dir / NFLOG_FILE if data_dir else None)
        return cls(load_config(path), silences=store, clock=clock, external_url=external_url,
                   transport=transport, nflog=nflog, registry=registry,
                   external_labels=external_labels)  # fmt: skip

    def _dispatcher(self, config: NotifierConfig) -> Dispatcher:
        integrations: dict[str, list[Integration]] = {}
        for name, rc in config.receivers.items():
            found: list[Integration] = []
            found.extend(WebhookIntegration(c, self._http) for c in rc.webhooks)
            found.extend(SlackIntegration(c, self._http) for c in rc.slacks)
            found.extend(EmailIntegration(c) for c in rc.emails)
            integrations[name] = found
        return Dispatcher(
            config,
            integrations,
            mutes=self.silences.mutes,
            external_url=self._external_url,
            nflog=self._nflog,
            on_result=self._count,
        )

    def _count(self, integration: str, ok: bool) -> None:
        total, failed = self._metrics
        total.labels(integration).inc()
        if not ok:
            failed.labels(integration).inc()

    def apply_config(self, config: NotifierConfig) -> None:
        """Use a new routing file. As on an Alertmanager reload, groups are rebuilt from the
        alerts held; the notification log keeps what was already sent from being sent again."""
        fresh = self._dispatcher(config)
        fresh.put(self.dispatcher.alerts(), self.clock())
        self.dispatcher = fresh
        self._wake.set()

    def send(self, alerts: Sequence[Alert]) -> None:
        """Take alerts from the rule evaluator; never blocks on the network, never raises.

        External labels are added where an alert lacks them, as Prometheus's notifier adds them
        before an Alertmanager sees the alert, so routes on them mean the same here.
        """
        try:
            if self._external:
                alerts = [_with_external(a, self._external) for a in alerts]
            self.dispatcher.put(alerts, self.clock())
        except Exception:
            _log.exception("built-in notifier could not take alerts")
        self._wake.set()

    def view(self, now: float) -> list[AlertView]:
        """The unresolved alerts held now, for ``GET /api/v2/alerts``."""
        return self.dispatcher.view(now)

    def tick(self, now: float | None = None) -> None:
        """Flush the groups due at ``now`` (default: the clock)."""
        self.dispatcher.tick(self.clock() if now is None else now)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tripod-notifier", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._http.client.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            due = self.dispatcher.next_due()
            wait = 1.0 if due is None else min(1.0, max(0.0, due - self.clock()))
            self._wake.wait(wait)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.tick()
            except Exception:
                _log.exception("built-in notifier tick failed")
