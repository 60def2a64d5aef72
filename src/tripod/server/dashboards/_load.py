"""Read Grafana dashboard JSON files into :class:`Entry` values, one per file.

A file is a dashboard model (``{"uid", "title", "panels", ...}``) or the Grafana API's export
(``{"dashboard": {...}, "meta": {...}}``). A file that cannot be read or is not a dashboard
becomes an entry with its ``error``, never an exception: one bad file must not hide the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path
from typing import Any

from tripod.server._http import HttpError, parse_json

__all__ = ["MAX_FILE_BYTES", "Entry", "bad_entry", "parse_dashboard", "read_entry"]

MAX_FILE_BYTES = 8 * 1024 * 1024
_UID_RE = re.compile(r"[A-Za-z0-9._~-]{1,128}\Z")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One dashboard file as listed: its model, or the reason it cannot be shown."""

    uid: str
    title: str
    tags: tuple[str, ...]
    file: str  # as the user named it: the configured path joined with the file's place under it
    dashboard: dict[str, Any] | None = None
    error: str | None = None
    stamp: tuple[int, int] = (0, 0)  # (mtime_ns, size) the entry was read at

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "uid": self.uid,
            "title": self.title,
            "tags": list(self.tags),
            "file": self.file,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


def file_uid(file: str) -> str:
    """A stable uid for a file whose model has none (or cannot be read)."""
    return "file-" + hashlib.sha1(file.encode(), usedforsecurity=False).hexdigest()[:12]


def bad_entry(file: str, error: str, stamp: tuple[int, int] = (0, 0)) -> Entry:
    return Entry(file_uid(file), Path(file).name, (), file, None, error, stamp)


def parse_dashboard(raw: Any, file: str) -> tuple[dict[str, Any], str, str, tuple[str, ...]]:
    """The model, uid, title and tags of a parsed file; ValueError with the reason if it is not
    a dashboard."""
    if not isinstance(raw, dict):
        msg = f"expected a JSON object (a dashboard model), got {type(raw).__name__}"
        raise ValueError(msg)
    if "panels" not in raw and "rows" not in raw and isinstance(raw.get("dashboard"), dict):
        raw = raw["dashboard"]  # the Grafana API's {"dashboard": {...}, "meta": {...}}
    model: dict[str, Any] = raw
    panels = model.get("panels", [])
    if not isinstance(panels, list):
        msg = f"panels: expected a list, got {type(panels).__name__}"
        raise ValueError(msg)
    if "panels" not in model and not isinstance(model.get("rows"), list):
        msg = "not a Grafana dashboard: no panels (or rows) list"
        raise ValueError(msg)
    title = model.get("title", "")
    if not isinstance(title, str):
        msg = f"title: expected a string, got {type(title).__name__}"
        raise ValueError(msg)
    uid = model.get("uid")
    if uid in (None, ""):
        uid = file_uid(file)
    if not isinstance(uid, str) or not _UID_RE.match(uid):
        msg = f"uid {uid!r} is not valid; expected 1 to 128 of A-Z a-z 0-9 . _ ~ -"
        raise ValueError(msg)
    raw_tags = model.get("tags") or []
    tags = (
        tuple(str(t) for t in raw_tags if isinstance(t, str | int | float))
        if isinstance(raw_tags, list)
        else ()
    )
    return model, uid, title or Path(file).stem, tags


def read_entry(path: Path, file: str, stamp: tuple[int, int]) -> Entry:
    """The entry of one file on disk (``file`` is the name shown for it)."""
    if stamp[1] > MAX_FILE_BYTES:
        return bad_entry(
            file, f"file is {stamp[1]} bytes; at most {MAX_FILE_BYTES} are read", stamp
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        return bad_entry(file, f"cannot read: {exc.strerror or exc}", stamp)
    try:
        raw = parse_json(data)
    except HttpError as exc:  # "body is not JSON: ..." / "body nests 600 levels deep; ..."
        return bad_entry(file, str(exc).replace("body", "the file", 1), stamp)
    try:
        model, uid, title, tags = parse_dashboard(raw, file)
    except ValueError as exc:
        return bad_entry(file, str(exc), stamp)
    return Entry(uid, title, tags, file, model, None, stamp)
