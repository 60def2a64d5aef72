"""``scrape_configs``: the supported subset of Prometheus's fields, its defaults, validation.

Field names and defaults are Prometheus's (config/config.go): a config that works with
Prometheus and uses only these fields works here. Anything else is refused up front with a
message naming the job and the field, never ignored silently.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tripod.server.config._relabel import RelabelConfig, parse_relabel_configs
from tripod.server.config._units import ConfigError, parse_duration

__all__ = [
    "JOB_FIELDS",
    "FileSDConfig",
    "ScrapeConfig",
    "TargetGroup",
    "parse_scrape_configs",
    "parse_target_groups",
]

_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
JOB_FIELDS = {  # the supported subset of a Prometheus scrape config
    "job_name",
    "scrape_interval",
    "scrape_timeout",
    "metrics_path",
    "scheme",
    "params",
    "honor_labels",
    "honor_timestamps",
    "static_configs",
    "file_sd_configs",
    "relabel_configs",
    "metric_relabel_configs",
    "sample_limit",
}
# Prometheus fields we know and do not do: named in the error so nobody hunts for a typo.
_UNSUPPORTED = {
    "basic_auth",
    "authorization",
    "oauth2",
    "tls_config",
    "proxy_url",
    "follow_redirects",
    "enable_http2",
    "body_size_limit",
    "label_limit",
    "label_name_length_limit",
    "label_value_length_limit",
    "target_limit",
    "kubernetes_sd_configs",
    "consul_sd_configs",
    "dns_sd_configs",
    "ec2_sd_configs",
    "http_sd_configs",
    "docker_sd_configs",
    "scrape_classic_histograms",
    "native_histogram_bucket_limit",
}


@dataclasses.dataclass(frozen=True)
class TargetGroup:
    """``targets`` sharing ``labels``; ``source`` says where it came from (for messages)."""

    targets: tuple[str, ...]
    labels: Mapping[str, str]
    source: str = ""


@dataclasses.dataclass(frozen=True)
class FileSDConfig:
    files: tuple[str, ...]
    refresh_interval_s: float = 300.0


@dataclasses.dataclass(frozen=True)
class ScrapeConfig:
    """One validated ``scrape_configs`` entry, defaults filled in as Prometheus does."""

    job_name: str
    scrape_interval_s: float = 60.0
    scrape_timeout_s: float = 10.0
    metrics_path: str = "/metrics"
    scheme: str = "http"
    params: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    honor_labels: bool = False
    honor_timestamps: bool = True
    sample_limit: int = 0
    static_configs: tuple[TargetGroup, ...] = ()
    file_sd_configs: tuple[FileSDConfig, ...] = ()
    relabel_configs: tuple[RelabelConfig, ...] = ()
    metric_relabel_configs: tuple[RelabelConfig, ...] = ()


def _unknown_field(name: str, where: str) -> ConfigError:
    if name in _UNSUPPORTED:
        msg = (
            f"{where}: {name!r} is a Prometheus setting tripod does not support; remove it "
            "(supported: " + ", ".join(sorted(JOB_FIELDS)) + ")"
        )
        return ConfigError(msg)
    close = difflib.get_close_matches(name, sorted(JOB_FIELDS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    msg = f"{where}: unknown field {name!r}{hint}"
    return ConfigError(msg)


def _bool(raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):
        msg = f"{where}: expected true or false, got {raw!r}"
        raise ConfigError(msg)
    return raw


def _labels(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        msg = f"{where}: expected a mapping of label names to values, got {raw!r}"
        raise ConfigError(msg)
    out: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not _LABEL_NAME_RE.match(name):
            msg = f"{where}: {name!r} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)"
            raise ConfigError(msg)
        if value is None or isinstance(value, dict | list):
            msg = f"{where}.{name}: expected a string value, got {value!r}"
            raise ConfigError(msg)
        out[name] = str(value)
    return out


def parse_target_groups(raw: Any, where: str) -> tuple[TargetGroup, ...]:
    """A list of ``{targets: [...], labels: {...}}`` (static_configs or a file_sd file)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        msg = f"{where}: expected a list of {{targets: [...], labels: {{...}}}}, got {raw!r}"
        raise ConfigError(msg)
    groups: list[TargetGroup] = []
    for i, item in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            msg = f"{here}: expected a mapping with 'targets', got {item!r}"
            raise ConfigError(msg)
        extra = sorted(set(item) - {"targets", "labels"})
        if extra:
            msg = f"{here}: unknown field {extra[0]!r}; a target group has 'targets' and 'labels'"
            raise ConfigError(msg)
        targets = item.get("targets") or []
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            msg = f"{here}.targets: expected a list of 'host:port' strings, got {targets!r}"
            raise ConfigError(msg)
        for target in targets:
            if "/" in target or not target.strip():
                msg = (
                    f"{here}.targets: {target!r} is not 'host:port'; put the path in "
                    "metrics_path and the scheme in scheme"
                )
                raise ConfigError(msg)
        groups.append(TargetGroup(tuple(targets), _labels(item.get("labels"), f"{here}.labels")))
    return tuple(groups)


def _file_sd(raw: Any, where: str, default_refresh: float) -> tuple[FileSDConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        msg = f"{where}: expected a list of {{files: [...], refresh_interval: 5m}}, got {raw!r}"
        raise ConfigError(msg)
    out: list[FileSDConfig] = []
    for i, item in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            msg = f"{here}: expected a mapping with 'files', got {item!r}"
            raise ConfigError(msg)
        extra = sorted(set(item) - {"files", "refresh_interval"})
        if extra:
            msg = (
                f"{here}: unknown field {extra[0]!r}; "
                "file_sd_configs take 'files' and 'refresh_interval'"
            )
            raise ConfigError(msg)
        files = item.get("files") or []
        if not files or not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            msg = f"{here}.files: expected a non-empty list of file paths or globs, got {files!r}"
            raise ConfigError(msg)
        for name in files:
            if Path(name).suffix not in {".json", ".yml", ".yaml"}:
                msg = f"{here}.files: {name!r} must end in .json, .yml or .yaml (the file format)"
                raise ConfigError(msg)
        refresh = item.get("refresh_interval")
        seconds = (
            default_refresh
            if refresh is None
            else parse_duration(refresh, f"{here}.refresh_interval")
        )
        if seconds <= 0:
            msg = f"{here}.refresh_interval: must be positive, got {refresh!r}"
            raise ConfigError(msg)
        out.append(FileSDConfig(tuple(files), seconds))
    return tuple(out)


def _params(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        msg = f"{where}: expected a mapping of parameter names to lists of values, got {raw!r}"
        raise ConfigError(msg)
    out: dict[str, tuple[str, ...]] = {}
    for name, values in raw.items():
        if not isinstance(values, list) or not all(
            isinstance(v, str | int | float) for v in values
        ):
            msg = f'{where}.{name}: expected a list of values (e.g. ["a"]), got {values!r}'
            raise ConfigError(msg)
        out[str(name)] = tuple(str(v) for v in values)
    return out


def _one(raw: Any, index: int, default_interval: float, default_timeout: float) -> ScrapeConfig:
    if not isinstance(raw, dict):
        msg = f"scrape_configs[{index}]: expected a mapping with job_name, got {raw!r}"
        raise ConfigError(msg)
    job = raw.get("job_name")
    if not isinstance(job, str) or not job:
        msg = f"scrape_configs[{index}].job_name: every scrape config needs a job_name string"
        raise ConfigError(msg)
    where = f"scrape_configs[{index}] (job {job!r})"
    for name in raw:
        if name not in JOB_FIELDS:
            raise _unknown_field(str(name), where)
    interval_raw = raw.get("scrape_interval")
    interval = (
        default_interval
        if interval_raw is None
        else parse_duration(interval_raw, f"{where}.scrape_interval")
    )
    if interval <= 0:
        msg = f"{where}.scrape_interval: must be positive, got {interval_raw!r}"
        raise ConfigError(msg)
    if "scrape_timeout" in raw:
        timeout = parse_duration(raw["scrape_timeout"], f"{where}.scrape_timeout")
    else:  # Prometheus: the global timeout, capped by this job's interval
        timeout = min(default_timeout, interval)
    if timeout <= 0 or timeout > interval:
        msg = (
            f"{where}.scrape_timeout: {timeout:g}s must be positive and not greater than "
            f"scrape_interval ({interval:g}s)"
        )
        raise ConfigError(msg)
    path = raw.get("metrics_path", "/metrics")
    if not isinstance(path, str) or not path.startswith("/"):
        msg = f"{where}.metrics_path: expected a path starting with '/', got {path!r}"
        raise ConfigError(msg)
    scheme = raw.get("scheme", "http")
    if scheme not in ("http", "https"):
        msg = f"{where}.scheme: expected http or https, got {scheme!r}"
        raise ConfigError(msg)
    limit = raw.get("sample_limit", 0)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        msg = f"{where}.sample_limit: expected a non-negative integer (0 = none), got {limit!r}"
        raise ConfigError(msg)
    sd_refresh = 300.0
    return ScrapeConfig(
        job_name=job,
        scrape_interval_s=interval,
        scrape_timeout_s=timeout,
        metrics_path=path,
        scheme=scheme,
        params=_params(raw.get("params"), f"{where}.params"),
        honor_labels=_bool(raw.get("honor_labels", False), f"{where}.honor_labels"),
        honor_timestamps=_bool(raw.get("honor_timestamps", True), f"{where}.honor_timestamps"),
        sample_limit=limit,
        static_configs=parse_target_groups(raw.get("static_configs"), f"{where}.static_configs"),
        file_sd_configs=_file_sd(
            raw.get("file_sd_configs"), f"{where}.file_sd_configs", sd_refresh
        ),
        relabel_configs=parse_relabel_configs(
            raw.get("relabel_configs"), f"{where}.relabel_configs"
        ),
        metric_relabel_configs=parse_relabel_configs(
            raw.get("metric_relabel_configs"), f"{where}.metric_relabel_configs"
        ),
    )


def parse_scrape_configs(
    raw: Any, scrape_interval_s: float = 60.0, scrape_timeout_s: float = 10.0
) -> tuple[ScrapeConfig, ...]:
    """Validate the ``scrape_configs`` list, with the ``global:`` section's scrape_interval and
    scrape_timeout as defaults; raises :class:`ConfigError` naming the job and the field."""
    if raw is None:
        return ()
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        msg = f"scrape_configs: expected a list of scrape configs, got {type(raw).__name__}"
        raise ConfigError(msg, "scrape_configs")
    configs = [_one(item, i, scrape_interval_s, scrape_timeout_s) for i, item in enumerate(raw)]
    seen: set[str] = set()
    for cfg in configs:
        if cfg.job_name in seen:
            msg = (
                f"scrape_configs: job_name {cfg.job_name!r} appears twice; job names must be unique"
            )
            raise ConfigError(msg, "scrape_configs")
        seen.add(cfg.job_name)
    return tuple(configs)
