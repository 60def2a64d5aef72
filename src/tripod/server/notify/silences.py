"""Silences with Alertmanager 0.25's rules, kept in a JSON file in the data directory.

A silence mutes every alert its matchers all match while it is active (``startsAt <= now <
endsAt``). Creating one that names an existing ``id`` updates it in place when Alertmanager would
(same matchers; an active one keeps its start and must not end in the past; a pending one must not
start in the past); otherwise the old one is expired and a new id is issued. Expiring an active
silence ends it now, a pending one is ended before it starts. Expired silences are kept five days.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tripod.server.notify._wire import format_millis, parse_time
from tripod.server.notify.matchers import Matcher, MatcherError

__all__ = ["Silence", "SilenceError", "SilenceNotFoundError", "SilenceStore"]

RETENTION_S = 5 * 86400.0
_STATE_ORDER = {"active": 1, "pending": 2, "expired": 3}


class SilenceError(ValueError):
    """A silence that cannot be created; the message says why (HTTP 400)."""


class SilenceNotFoundError(KeyError):
    """No silence has this id (HTTP 404)."""


@dataclasses.dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    updated_at: float

    def state(self, now: float) -> str:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def to_api(self, now: float) -> dict[str, Any]:
        """Alertmanager's ``GettableSilence``."""
        return {
            "id": self.id,
            "status": {"state": self.state(now)},
            "updatedAt": format_millis(self.updated_at),
            "comment": self.comment,
            "createdBy": self.created_by,
            "endsAt": format_millis(self.ends_at),
            "matchers": [m.to_api() for m in self.matchers],
            "startsAt": format_millis(self.starts_at),
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.to_api(0.0), "startsAtUnix": self.starts_at, "endsAtUnix": self.ends_at,
                "updatedAtUnix": self.updated_at}  # fmt: skip


def _silence_from_json(raw: Mapping[str, Any]) -> Silence:
    return Silence(
        id=str(raw["id"]),
        matchers=tuple(Matcher.from_api(m) for m in raw["matchers"]),
        starts_at=float(raw["startsAtUnix"]),
        ends_at=float(raw["endsAtUnix"]),
        created_by=str(raw["createdBy"]),
        comment=str(raw["comment"]),
        updated_at=float(raw["updatedAtUnix"]),
    )


def _time_field(raw: Mapping[str, Any], name: str) -> float:
    value = raw.get(name)
    if not isinstance(value, str):
        msg = f"{name} is required (RFC 3339 time)"
        raise SilenceError(msg)
    try:
        parsed = parse_time(value)
    except ValueError:
        parsed = None
    if parsed is None:
        msg = f"{name}={value!r} is not an RFC 3339 time"
        raise SilenceError(msg)
    return parsed


class SilenceStore:
    """Thread-safe silences; every change is written to ``path`` (atomically) when set."""

    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._silences: dict[str, Silence] = {}
        if path is not None and path.exists():
            try:
                raw = json.loads(path.read_text())
                loaded = [_silence_from_json(item) for item in raw["silences"]]
            except (OSError, ValueError, KeyError, TypeError, MatcherError) as exc:
                msg = f"{path}: not a silences file ({exc}); move it away to start empty"
                raise SilenceError(msg) from None
            self._silences = {s.id: s for s in loaded}

    def _save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        body = {"silences": [s.to_json() for s in self._silences.values()]}
        tmp.write_text(json.dumps(body, indent=1))
        os.replace(tmp, self._path)

    def set(self, raw: Any) -> str:
        """Create or update from an API v2 ``PostableSilence``; returns the silence id."""
        if not isinstance(raw, dict):
            msg = "expected a JSON object with matchers, startsAt, endsAt, createdBy, comment"
            raise SilenceError(msg)
        matchers_raw = raw.get("matchers")
        if not isinstance(matchers_raw, list) or not matchers_raw:
            msg = "at least one matcher required"
            raise SilenceError(msg)
        try:
            matchers = tuple(Matcher.from_api(m) for m in matchers_raw)
        except MatcherError as exc:
            msg = f"invalid label matcher: {exc}"
            raise SilenceError(msg) from None
        if all(m.matches("") for m in matchers):
            msg = "at least one matcher must not match the empty string"
            raise SilenceError(msg)
        starts, ends = _time_field(raw, "startsAt"), _time_field(raw, "endsAt")
        for name in ("createdBy", "comment"):
            if not isinstance(raw.get(name), str) or not raw[name]:
                msg = f"{name} is required"
                raise SilenceError(msg)
        if starts >= ends:
            msg = "Failed to create silence: start time must be before end time"
            raise SilenceError(msg)
        now = self.clock()
        if ends < now:
            msg = "Failed to create silence: end time can't be in the past"
            raise SilenceError(msg)
        wanted = Silence(str(raw.get("id") or ""), matchers, starts, ends,
                         raw["createdBy"], raw["comment"], now)  # fmt: skip
        with self._lock:
            if wanted.id:
                prev = self._silences.get(wanted.id)
                if prev is None:
                    raise SilenceNotFoundError(wanted.id)
                if self._can_update(prev, wanted, now):
                    self._silences[wanted.id] = wanted
                    self._save()
                    return wanted.id
                if prev.state(now) != "expired":
                    self._expire(prev, now)
            fresh = dataclasses.replace(
                wanted, id=str(uuid.uuid4()), starts_at=max(wanted.starts_at, now)
            )
            self._silences[fresh.id] = fresh
            self._save()
            return fresh.id

    @staticmethod
    def _can_update(prev: Silence, new: Silence, now: float) -> bool:
        if prev.matchers != new.matchers:
            return False
        state = prev.state(now)
        if state == "active":
            return int(prev.starts_at) == int(new.starts_at) and new.ends_at >= now
        if state == "pending":
            return new.starts_at >= now
        return False

    def _expire(self, silence: Silence, now: float) -> None:
        state = silence.state(now)
        if state == "expired":
            return
        starts = now if state == "pending" else silence.starts_at
        self._silences[silence.id] = dataclasses.replace(
            silence, starts_at=starts, ends_at=now, updated_at=now
        )

    def expire(self, silence_id: str) -> None:
        with self._lock:
            silence = self._silences.get(silence_id)
            if silence is None:
                raise SilenceNotFoundError(silence_id)
            self._expire(silence, self.clock())
            self._save()

    def get(self, silence_id: str) -> Silence:
        with self._lock:
            silence = self._silences.get(silence_id)
        if silence is None:
            raise SilenceNotFoundError(silence_id)
        return silence

    def list(self, filters: Sequence[Matcher] = ()) -> list[Silence]:
        """Silences whose matchers include every filter matcher, in Alertmanager's order."""
        now = self.clock()
        with self._lock:
            stale = [k for k, s in self._silences.items() if s.ends_at + RETENTION_S < now]
            for key in stale:
                del self._silences[key]
            if stale:
                self._save()
            found = [s for s in self._silences.values() if all(f in s.matchers for f in filters)]

        def order(s: Silence) -> tuple[int, float]:
            state = s.state(now)
            if state == "active":
                return 1, s.ends_at
            if state == "pending":
                return 2, s.starts_at
            return 3, -s.ends_at

        return sorted(found, key=order)

    def silenced_by(self, labels: Mapping[str, str], now: float) -> Sequence[str]:
        """Ids of the active silences that match ``labels``, sorted."""
        with self._lock:
            silences = list(self._silences.values())
        return sorted(
            s.id
            for s in silences
            if s.state(now) == "active"
            and all(m.matches(labels.get(m.name, "")) for m in s.matchers)
        )

    def mutes(self, labels: Mapping[str, str], now: float) -> bool:
        """Whether an active silence matches ``labels``."""
        with self._lock:
            silences = list(self._silences.values())
        return any(
            s.state(now) == "active" and all(m.matches(labels.get(m.name, "")) for m in s.matchers)
            for s in silences
        )
