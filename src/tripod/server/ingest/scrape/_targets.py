"""From target groups to scrape targets: Prometheus's label population and relabelling, and
file-based service discovery (``file_sd_configs`` files, JSON or YAML)."""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlencode

import yaml

from tripod.server.config import (
    FileSDConfig,
    ScrapeConfig,
    TargetGroup,
    format_duration,
    parse_duration,
    parse_target_groups,
    relabel,
)

__all__ = ["FileSD", "Target", "load_sd_file", "targets_for"]

_log = logging.getLogger("tripod.server.scrape")


@dataclasses.dataclass(frozen=True)
class Target:
    """A target to scrape: its URL, the labels its series get, and its schedule."""

    job: str
    url: str
    labels: dict[str, str]  # public labels (job, instance, ...): no "__" labels left
    interval_s: float
    timeout_s: float
    discovered: dict[str, str] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Identity across target refreshes: same URL and labels means the same loop."""
        return self.url, tuple(sorted(self.labels.items()))


def populate(cfg: ScrapeConfig, group: TargetGroup, address: str) -> Target | None:
    """One target's labels as Prometheus builds them (scrape/target.go populateLabels);
    None when relabelling drops it or leaves it unusable (logged)."""
    labels: dict[str, str] = dict(group.labels)
    labels["__address__"] = address
    defaults = {
        "job": cfg.job_name,
        "__scheme__": cfg.scheme,
        "__metrics_path__": cfg.metrics_path,
        "__scrape_interval__": format_duration(cfg.scrape_interval_s),
        "__scrape_timeout__": format_duration(cfg.scrape_timeout_s),
    }
    for name, values in cfg.params.items():
        if values:
            defaults[f"__param_{name}"] = values[0]
    for name, value in defaults.items():
        labels.setdefault(name, value)
    discovered = dict(labels)
    result = relabel(labels, cfg.relabel_configs)
    if result is None:
        return None
    addr = result.get("__address__", "")
    if not addr or "/" in addr:
        _log.warning(
            "job %s: target %r dropped: __address__ %r after relabelling is not 'host:port'",
            cfg.job_name,
            address,
            addr,
        )
        return None
    try:
        interval = parse_duration(result.get("__scrape_interval__", ""), "__scrape_interval__")
        timeout = parse_duration(result.get("__scrape_timeout__", ""), "__scrape_timeout__")
    except ValueError as exc:
        _log.warning("job %s: target %r dropped: %s", cfg.job_name, addr, exc)
        return None
    if interval <= 0 or timeout <= 0 or timeout > interval:
        _log.warning(
            "job %s: target %r dropped: scrape timeout %gs must be positive and at most the "
            "interval %gs",
            cfg.job_name,
            addr,
            timeout,
            interval,
        )
        return None
    params = {name: list(values) for name, values in cfg.params.items()}
    for name, value in result.items():
        if name.startswith("__param_"):  # replaces the first value, as Prometheus does
            params.setdefault(name[len("__param_") :], [""])[0] = value
    query = urlencode(sorted(params.items()), doseq=True)  # sorted by name, as Go encodes
    scheme = result.get("__scheme__", cfg.scheme)
    path = result.get("__metrics_path__", cfg.metrics_path)
    url = f"{scheme}://{addr}{path}" + (f"?{query}" if query else "")
    public = {k: v for k, v in result.items() if not k.startswith("__") and v}
    public.setdefault("instance", addr)
    return Target(cfg.job_name, url, public, interval, timeout, discovered)


def targets_for(
    cfg: ScrapeConfig, groups: Iterable[TargetGroup], dropped: list[dict[str, str]] | None = None
) -> dict[object, Target]:
    """Every target of ``groups`` after relabelling, keyed by identity (duplicates merge);
    the discovered labels of targets relabelling dropped are added to ``dropped``."""
    out: dict[object, Target] = {}
    for group in groups:
        for address in group.targets:
            target = populate(cfg, group, address)
            if target is not None:
                out[target.key] = target
            elif dropped is not None:
                dropped.append({**group.labels, "__address__": address, "job": cfg.job_name})
    return out


def load_sd_file(path: Path) -> tuple[TargetGroup, ...]:
    """Target groups of one file_sd file; raises ValueError naming the file and the problem."""
    try:
        text = path.read_text()
    except OSError as exc:
        msg = f"file_sd file {path}: cannot read it ({exc.strerror or exc})"
        raise ValueError(msg) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).replace("\n", " ")
        msg = f"file_sd file {path}: not valid {path.suffix[1:].upper()} ({reason})"
        raise ValueError(msg) from None
    if data is None:
        return ()
    groups = parse_target_groups(data, f"file_sd file {path}")
    return tuple(
        TargetGroup(g.targets, {**g.labels, "__meta_filepath": str(path)}, str(path))
        for g in groups
    )


class FileSD:
    """The target groups of one ``file_sd_configs`` entry, re-read when a file changes.

    ``poll()`` is cheap (a stat per file) and says whether the groups changed; a file that
    becomes unreadable or invalid keeps its last good groups, as Prometheus does.
    """

    def __init__(self, config: FileSDConfig, base: Path | None = None) -> None:
        self.config = config
        self.base = base or Path.cwd()
        self._stamps: dict[Path, tuple[int, int]] = {}
        self._groups: dict[Path, tuple[TargetGroup, ...]] = {}
        self.errors: dict[Path, str] = {}

    def _paths(self) -> list[Path]:
        found: set[Path] = set()
        for pattern in self.config.files:
            full = pattern if os.path.isabs(pattern) else str(self.base / pattern)
            found.update(Path(p) for p in glob.glob(full))
        return sorted(found)

    def poll(self) -> bool:
        """Re-read changed files; True when the set of target groups changed."""
        changed = False
        paths = self._paths()
        for gone in set(self._groups) - set(paths):
            del self._groups[gone]
            self._stamps.pop(gone, None)
            changed = True
        for path in paths:
            try:
                st = path.stat()
            except OSError:
                continue
            stamp = (st.st_mtime_ns, st.st_size)
            if self._stamps.get(path) == stamp:
                continue
            self._stamps[path] = stamp
            try:
                groups = load_sd_file(path)
            except ValueError as exc:
                if self.errors.get(path) != str(exc):
                    _log.error("%s; keeping its previous targets", exc)
                self.errors[path] = str(exc)
                continue
            self.errors.pop(path, None)
            if self._groups.get(path) != groups:
                self._groups[path] = groups
                changed = True
        return changed

    def groups(self) -> list[TargetGroup]:
        return [g for path in sorted(self._groups) for g in self._groups[path]]
