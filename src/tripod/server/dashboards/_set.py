"""The dashboards a running server shows: the configured files and folders, re-read when a
file's modification time or size changes (so editing a file needs no restart or reload), and
the built-in RED dashboard (which Home links to) unless a file has its uid."""

from __future__ import annotations

import glob
import threading
from collections.abc import Callable
from pathlib import Path

from tripod.server.dashboards._load import Entry, bad_entry, read_entry

__all__ = ["MAX_FILES", "DashboardSet"]

MAX_FILES = 2000  # files looked at per scan; more are reported once, not read


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class DashboardSet:
    """The dashboards of ``paths`` (files, folders searched recursively for ``*.json``, or
    globs). ``builtin`` makes the built-in dashboard, added to them (it returns ``None`` with
    a note when it cannot, e.g. without ``tripod[codegen]``)."""

    def __init__(
        self,
        paths: tuple[str, ...],
        builtin: Callable[[], tuple[Entry | None, str]] | None = None,
    ) -> None:
        self.paths = paths
        self._builtin = builtin
        self._builtin_done = False
        self._builtin_entry: Entry | None = None
        self.note = ""
        self._cache: dict[Path, Entry] = {}
        self._lock = threading.Lock()

    def _files(self) -> tuple[list[tuple[Path, str]], list[Entry]]:
        """(path on disk, name shown) of every file, and entries for paths that are missing."""
        found: list[tuple[Path, str]] = []
        problems: list[Entry] = []
        for raw in self.paths:
            root = Path(raw)
            if root.is_file():
                found.append((root, raw))
            elif root.is_dir():
                real_root = root.resolve()
                for path in sorted(root.rglob("*.json")):
                    if not path.resolve().is_relative_to(real_root):
                        rel = str(root / path.relative_to(root))
                        problems.append(bad_entry(rel, "a symbolic link out of the folder"))
                        continue
                    if path.is_file():
                        found.append((path, str(root / path.relative_to(root))))
            elif glob.has_magic(raw):
                found.extend((Path(p), p) for p in sorted(glob.glob(raw)) if Path(p).is_file())
            else:
                problems.append(bad_entry(raw, "no such file or folder"))
            if len(found) > MAX_FILES:
                break
        if len(found) > MAX_FILES:
            extra = len(found) - MAX_FILES
            problems.append(
                bad_entry(found[MAX_FILES][1], f"more than {MAX_FILES} files; {extra}+ not read")
            )
            found = found[:MAX_FILES]
        return found, problems

    def entries(self) -> list[Entry]:
        """Every dashboard (and every problem), sorted by title; files read again only when
        their modification time or size changed. Duplicate uids: the first file (by path) wins,
        the others are listed with the reason."""
        with self._lock:
            files, problems = self._files()
            cache: dict[Path, Entry] = {}
            out: list[Entry] = []
            owners: dict[str, str] = {}
            for path, name in files:
                stamp = _stamp(path)
                if stamp is None:
                    continue  # removed between the listing and now
                entry = self._cache.get(path)
                if entry is None or entry.stamp != stamp or entry.file != name:
                    entry = read_entry(path, name, stamp)
                cache[path] = entry
                if entry.error is None and entry.uid in owners:
                    msg = f"uid {entry.uid!r} is already used by {owners[entry.uid]}"
                    entry = bad_entry(name, msg, stamp)
                owners.setdefault(entry.uid, name)
                out.append(entry)
            self._cache = cache
            out.extend(problems)
            builtin = self._builtin_dashboard()
            if builtin is not None and builtin.uid not in owners:
                out.append(builtin)
            out.sort(key=lambda e: (e.title.casefold(), e.file))
            return out

    def _builtin_dashboard(self) -> Entry | None:
        if not self._builtin_done and self._builtin is not None:
            self._builtin_entry, self.note = self._builtin()
            self._builtin_done = True
        return self._builtin_entry

    def get(self, uid: str) -> Entry | None:
        for entry in self.entries():
            if entry.uid == uid:
                return entry
        return None
