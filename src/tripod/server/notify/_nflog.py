"""The notification log: what each integration last sent for each group (Alertmanager's nflog).

It decides whether a flush must notify again. Kept in a JSON file in the data directory, so a
restarted ``tripod serve`` does not repeat a notification that already went out. Entries expire
twice the route's ``repeat_interval`` after they were written, as in Alertmanager.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from pathlib import Path

__all__ = ["LogEntry", "NotificationLog"]

_log = logging.getLogger("tripod.server.notify")
Key = tuple[str, str, int]  # group key, receiver, integration index


@dataclasses.dataclass(frozen=True)
class LogEntry:
    firing: frozenset[int]
    resolved: frozenset[int]
    at: float
    expires: float


class NotificationLog:
    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._entries: dict[Key, LogEntry] = {}
        if path is not None and path.exists():
            try:
                for item in json.loads(path.read_text())["entries"]:
                    key = (str(item["group"]), str(item["receiver"]), int(item["index"]))
                    self._entries[key] = LogEntry(
                        frozenset(int(f, 16) for f in item["firing"]),
                        frozenset(int(f, 16) for f in item["resolved"]),
                        float(item["at"]),
                        float(item["expires"]),
                    )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                _log.warning(
                    "%s unreadable (%s); starting with an empty notification log", path, exc
                )
                self._entries = {}

    def get(self, key: Key, now: float) -> LogEntry | None:
        with self._lock:
            entry = self._entries.get(key)
        return entry if entry is not None and entry.expires > now else None

    def log(self, key: Key, entry: LogEntry) -> None:
        with self._lock:
            self._entries[key] = entry
            live = {k: e for k, e in self._entries.items() if e.expires > entry.at}
            self._entries = live
            self._save()

    def _save(self) -> None:
        if self._path is None:
            return
        body = {
            "entries": [
                {"group": k[0], "receiver": k[1], "index": k[2],
                 "firing": sorted(f"{f:016x}" for f in e.firing),
                 "resolved": sorted(f"{f:016x}" for f in e.resolved),
                 "at": e.at, "expires": e.expires}
                for k, e in self._entries.items()
            ]
        }  # fmt: skip
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(body))
            os.replace(tmp, self._path)
        except OSError as exc:
            _log.warning("cannot write %s: %s", self._path, exc)
