"""Alertmanager's dispatcher, clock-driven: routing, aggregation groups, inhibition, silences,
de-duplication and repeat, as in Alertmanager 0.25 (dispatch/, inhibit/, notify/notify.go).

* ``put(alerts, now)`` merges alerts into the store and into one group per matching route and
  group-label set. A new group is due ``group_wait`` later (at once for an alert older than that).
* ``tick(now)`` flushes every due group, which is then due again ``group_interval`` later. A flush
  drops inhibited and silenced alerts, then each integration sends unless the last notification
  already covered the same firing set (and, with ``send_resolved``, the same resolved set) and is
  younger than ``repeat_interval``. Resolved alerts leave the group after a flush that succeeded.
* A failed send is retried at the next flush (Alertmanager retries with back-off within the
  group interval; here the next ``group_interval`` tick is the retry).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

from tripod.server.notify._nflog import LogEntry, NotificationLog
from tripod.server.notify._wire import (
    fingerprint,
    label_set_string,
    quote_meta,
    truncate_millis,
)
from tripod.server.notify.amconfig import NotifierConfig, Route
from tripod.server.notify.matchers import matches_all
from tripod.server.notify.model import Alert
from tripod.server.notify.receivers import Integration, NotifyError, notification_data
from tripod.server.notify.templates import KV, AlertData

__all__ = ["AlertView", "Dispatcher"]

_log = logging.getLogger("tripod.server.notify")
_RESOLVED_KEEP_S = 3600.0


@dataclasses.dataclass
class _Stored:
    alert: Alert
    fp: int
    updated_at: float
    timeout: bool  # ends_at came from resolve_timeout, not from the sender

    def resolved(self, now: float) -> bool:
        return self.alert.ends_at is not None and self.alert.ends_at <= now


@dataclasses.dataclass(frozen=True)
class AlertView:
    alert: Alert
    fingerprint: str
    updated_at: float
    receivers: list[str]
    inhibited_by: list[str]


@dataclasses.dataclass
class _Group:
    route: Route
    labels: dict[str, str]
    key: str
    next_flush: float
    alerts: dict[int, _Stored] = dataclasses.field(default_factory=dict)
    flushed: bool = False


def _merge(old: _Stored, new: _Stored, now: float) -> _Stored:
    """``types.Alert.Merge``: earliest start; the latest explicit end wins."""
    a, o = old.alert, new.alert
    starts = min(a.starts_at, o.starts_at)
    ends = o.ends_at
    if new.resolved(now):
        if old.resolved(now) and a.ends_at is not None and o.ends_at is not None:
            ends = max(a.ends_at, o.ends_at)
    elif a.ends_at is not None and (o.ends_at is None or a.ends_at > o.ends_at) and not old.timeout:
        ends = a.ends_at
    merged = dataclasses.replace(o, starts_at=starts, ends_at=ends)
    return dataclasses.replace(new, alert=merged)


def _overlaps(old: Alert, new: Alert) -> bool:
    if old.ends_at is None or new.ends_at is None:
        return True
    return (old.starts_at < new.ends_at < old.ends_at) or (
        old.starts_at < new.starts_at < old.ends_at
    )


def _labels_before(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """prometheus/common ``LabelSet.Before``: fewer labels first, then over the union of names
    in order, a missing label sorts first, then the smaller value."""
    if len(a) != len(b):
        return len(a) < len(b)
    for name in sorted([*a, *b]):
        if name not in a:
            return True
        if name not in b:
            return False
        if a[name] != b[name]:
            return a[name] < b[name]
    return False


def _alert_cmp(x: _Stored, y: _Stored) -> int:
    """``types.AlertSlice.Less``: by job, then instance (an alert with one first), then
    ``LabelSet.Before``."""
    a, b = x.alert.labels, y.alert.labels
    for name in ("job", "instance"):
        if name not in a and name not in b:
            continue
        if name not in a:
            return 1
        if name not in b:
            return -1
        if a[name] != b[name]:
            return -1 if a[name] < b[name] else 1
    if _labels_before(a, b):
        return -1
    return 1 if _labels_before(b, a) else 0


class Dispatcher:
    """The routing and grouping state of the built-in notifier; all times are Unix seconds."""

    def __init__(
        self,
        config: NotifierConfig,
        integrations: Mapping[str, Sequence[Integration]],
        *,
        mutes: Callable[[Mapping[str, str], float], bool] = lambda labels, now: False,
        external_url: str = "",
        nflog: NotificationLog | None = None,
        on_result: Callable[[str, bool], None] = lambda integration, ok: None,
    ) -> None:
        self.config = config
        self._on_result = on_result
        self._integrations = integrations
        self._silenced = mutes
        self._external_url = external_url
        self._lock = threading.Lock()
        self._store: dict[int, _Stored] = {}
        self._groups: dict[tuple[str, int], _Group] = {}
        self._nflog = nflog if nflog is not None else NotificationLog()

    def put(self, alerts: Iterable[Alert], now: float) -> None:
        with self._lock:
            for alert in alerts:
                self._put_one(alert, now)

    def _put_one(self, alert: Alert, now: float) -> None:
        labels = {k: v for k, v in alert.labels.items() if v != ""}
        timeout = alert.ends_at is None
        ends = now + self.config.resolve_timeout if alert.ends_at is None else alert.ends_at
        # Times as an Alertmanager would hold them after the API v2 trip: whole milliseconds.
        alert = dataclasses.replace(
            alert,
            labels=labels,
            starts_at=truncate_millis(alert.starts_at),
            ends_at=truncate_millis(ends),
        )
        stored = _Stored(alert, fingerprint(labels), now, timeout)
        old = self._store.get(stored.fp)
        if old is not None and _overlaps(old.alert, alert):
            stored = _merge(old, stored, now)
        self._store[stored.fp] = stored
        for route in self.config.route.match(labels):
            group_labels = route.group_labels(labels)
            gid = (route.key, fingerprint(group_labels))
            group = self._groups.get(gid)
            if group is None:
                key = f"{route.key}:{label_set_string(group_labels)}"
                group = _Group(route, group_labels, key, now + route.group_wait)
                self._groups[gid] = group
            group.alerts[stored.fp] = stored
            if not group.flushed and alert.starts_at + route.group_wait < now:
                group.next_flush = min(group.next_flush, now)

    def alerts(self) -> list[Alert]:
        """The alerts held now (a reload hands them to the new dispatcher, as Alertmanager's
        alert store outlives its dispatcher)."""
        with self._lock:
            return [s.alert for s in self._store.values()]

    def view(self, now: float) -> list[AlertView]:
        """The unresolved alerts held, with their receivers and inhibiting alerts (for
        ``GET /api/v2/alerts``)."""
        with self._lock:
            sources = self._sources(now)
            views = []
            for s in self._store.values():
                if s.resolved(now):
                    continue
                receivers = [r.receiver for r in self.config.route.match(s.alert.labels)]
                by = self._inhibitors(s.alert.labels, sources, first=True)  # as Alertmanager marks
                views.append(AlertView(s.alert, f"{s.fp:016x}", s.updated_at, receivers, by))
        return sorted(views, key=lambda v: v.fingerprint)

    def next_due(self) -> float | None:
        """When the earliest group is due, or None with no groups."""
        with self._lock:
            return min((g.next_flush for g in self._groups.values()), default=None)

    def group_count(self) -> int:
        with self._lock:
            return len(self._groups)

    def _sources(self, now: float) -> list[list[_Stored]]:
        """Per inhibit rule, the label sets of the active alerts its source matchers match
        (Alertmanager keeps this as each rule's source cache)."""
        return [
            [s for s in self._store.values()
             if not s.resolved(now) and matches_all(rule.source, s.alert.labels)]
            for rule in self.config.inhibit_rules
        ]  # fmt: skip

    def _inhibitors(
        self, labels: Mapping[str, str], sources: list[list[_Stored]], *, first: bool = False
    ) -> list[str]:
        found: list[str] = []
        for rule, candidates in zip(self.config.inhibit_rules, sources, strict=True):
            if not candidates or not matches_all(rule.target, labels):
                continue
            two_sided = matches_all(rule.source, labels)
            for source in candidates:
                other = source.alert.labels
                if any(other.get(n, "") != labels.get(n, "") for n in rule.equal):
                    continue
                if two_sided and matches_all(rule.target, other):
                    continue
                found.append(f"{source.fp:016x}")
                if first:
                    return found
        return sorted(set(found))

    def tick(self, now: float) -> None:
        """Flush every group due at ``now``; sends happen outside the lock."""
        work: list[tuple[_Group, list[_Stored], list[_Stored]]] = []
        with self._lock:
            due = sorted((g for g in self._groups.values() if g.next_flush <= now),
                         key=lambda g: (g.next_flush, g.key))  # fmt: skip
            sources = self._sources(now) if due else []
            for group in due:
                group.flushed = True
                group.next_flush = now + group.route.group_interval
                snapshot = sorted(group.alerts.values(), key=functools.cmp_to_key(_alert_cmp))
                kept = [
                    s
                    for s in snapshot
                    if not self._inhibitors(s.alert.labels, sources, first=True)
                    and not self._silenced(s.alert.labels, now)
                ]
                work.append((group, snapshot, kept))
        for group, snapshot, kept in work:
            ok = self._notify(group, kept, now) if kept else True
            with self._lock:
                if ok:
                    for s in snapshot:
                        current = group.alerts.get(s.fp)
                        if (
                            s.resolved(now)
                            and current is not None
                            and current.updated_at == s.updated_at
                        ):
                            del group.alerts[s.fp]
                if not group.alerts:
                    self._groups.pop((group.route.key, fingerprint(group.labels)), None)
        with self._lock:
            for fp in [fp for fp, s in self._store.items()
                       if s.resolved(now - _RESOLVED_KEEP_S)]:  # fmt: skip
                del self._store[fp]

    def _notify(self, group: _Group, alerts: list[_Stored], now: float) -> bool:
        receiver = group.route.receiver
        firing = frozenset(s.fp for s in alerts if not s.resolved(now))
        resolved = frozenset(s.fp for s in alerts if s.resolved(now))
        ok = True
        for index, integration in enumerate(self._integrations.get(receiver, ())):
            log_key = (group.key, receiver, index)
            entry = self._nflog.get(log_key, now)
            repeat, send_resolved = group.route.repeat_interval, integration.send_resolved
            if not self._needs_update(
                entry, firing, resolved, repeat=repeat, send_resolved=send_resolved, now=now
            ):
                continue
            chosen = [s for s in alerts if integration.send_resolved or not s.resolved(now)]
            if chosen:
                data = notification_data(
                    quote_meta(receiver),
                    group.labels,
                    [self._view(s, now) for s in chosen],
                    self._external_url,
                )
                try:
                    integration.notify(data, group.key)
                except NotifyError as exc:
                    _log.error("notify %s/%s failed: %s", receiver, integration.name, exc)
                    self._on_result(integration.name, False)
                    ok = False
                    continue
                self._on_result(integration.name, True)
            expires = now + 2 * group.route.repeat_interval
            self._nflog.log(log_key, LogEntry(firing, resolved, now, expires))
        return ok

    @staticmethod
    def _needs_update(
        entry: LogEntry | None,
        firing: frozenset[int],
        resolved: frozenset[int],
        *,
        repeat: float,
        send_resolved: bool,
        now: float,
    ) -> bool:
        if entry is None:
            return bool(firing)
        if not firing <= entry.firing:
            return True
        if not firing:
            return bool(entry.firing)
        if send_resolved and not resolved <= entry.resolved:
            return True
        return entry.at < now - repeat

    @staticmethod
    def _view(s: _Stored, now: float) -> AlertData:
        a, resolved = s.alert, s.resolved(now)
        return AlertData(
            status="resolved" if resolved else "firing",
            labels=KV(a.labels),
            annotations=KV(a.annotations),
            starts_at=a.starts_at,
            ends_at=a.ends_at if resolved else None,
            generator_url=a.generator_url,
            fingerprint=f"{s.fp:016x}",
        )
