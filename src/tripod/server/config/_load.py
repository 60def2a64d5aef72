"""Build :class:`ServerConfig` once: flag/environment values plus the ``--config`` YAML.

Each YAML key is declared once in :data:`YAML_KEYS` (its section, default, meaning and parser);
the loader and docs/server-config.md both read that table. Unknown keys are refused with a
"did you mean" hint; every error names the key, the value and what is expected.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from tripod.server.config._scrape import parse_scrape_configs
from tripod.server.config._settings import (
    AlertingConfig,
    GlobalConfig,
    Limits,
    ServerConfig,
    StorageConfig,
)
from tripod.server.config._units import (
    POSITIVE_DURATION_EXPECTED,
    SIZE_EXPECTED,
    ConfigError,
    invalid,
    parse_duration,
    parse_size,
)

__all__ = ["YAML_KEYS", "YamlKey", "load_server_config", "read_yaml"]

_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


@dataclasses.dataclass(frozen=True)
class YamlKey:
    """One key of a section of the ``--config`` file and the settings field it fills."""

    section: str  # "storage", "global", "alerting"
    name: str
    field: str  # of the section's dataclass
    default: str  # as written in the file
    expected: str  # what a valid value looks like (also the error's "expected")
    doc: str
    parse: Callable[[Any, str], Any]


def _positive_duration(raw: Any, key: str) -> float:
    seconds = parse_duration(raw, key)
    if seconds <= 0:
        raise invalid(key, raw, POSITIVE_DURATION_EXPECTED)
    return seconds


def _count(raw: Any, key: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise invalid(key, raw, "a whole number >= 0")
    return raw


def _flag(raw: Any, key: str) -> bool:
    if not isinstance(raw, bool):
        raise invalid(key, raw, "true or false")
    return raw


def _external_labels(raw: Any, key: str) -> Mapping[str, str]:
    if not isinstance(raw, dict):
        raise invalid(key, raw, "a mapping of label names to string values")
    for name, value in raw.items():
        if not isinstance(name, str) or not _LABEL_NAME_RE.match(name):
            raise invalid(f"{key}.{name}", name, "a label name matching [a-zA-Z_][a-zA-Z0-9_]*")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise invalid(f"{key}.{name}", value, "a string value")
    return MappingProxyType({str(k): str(v) for k, v in raw.items()})


def _path(raw: Any, key: str) -> Path:
    if not isinstance(raw, str) or not raw.strip():
        raise invalid(key, raw, "a file path")
    return Path(raw)


def _alertmanagers(raw: Any, key: str) -> tuple[str, ...]:
    """URLs from Prometheus's ``alertmanagers: [{scheme, path_prefix, static_configs}]``."""
    if not isinstance(raw, list):
        raise invalid(key, raw, "a list of {static_configs: [{targets: [host:port]}]}")
    urls: list[str] = []
    for i, entry in enumerate(raw):
        here = f"{key}[{i}]"
        if not isinstance(entry, dict):
            raise invalid(here, entry, "a mapping with static_configs")
        unknown = sorted(set(entry) - {"scheme", "path_prefix", "static_configs", "timeout"})
        if unknown:
            raise invalid(f"{here}.{unknown[0]}", entry[unknown[0]],
                          "one of scheme, path_prefix, static_configs, timeout")  # fmt: skip
        scheme = entry.get("scheme", "http")
        if scheme not in ("http", "https"):
            raise invalid(f"{here}.scheme", scheme, "http or https")
        prefix = entry.get("path_prefix", "/")
        if not isinstance(prefix, str):
            raise invalid(f"{here}.path_prefix", prefix, "a URL path such as /")
        if "timeout" in entry:
            _positive_duration(entry["timeout"], f"{here}.timeout")
        groups = entry.get("static_configs") or []
        if not isinstance(groups, list):
            raise invalid(f"{here}.static_configs", groups, "a list of {targets: [host:port]}")
        for j, group in enumerate(groups):
            targets = group.get("targets") if isinstance(group, dict) else None
            if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
                raise invalid(f"{here}.static_configs[{j}].targets", targets,
                              "a list of 'host:port' strings")  # fmt: skip
            path = "/" + prefix.strip("/")
            urls.extend(f"{scheme}://{t}{path.rstrip('/')}" for t in targets)
    return tuple(urls)


YAML_KEYS: tuple[YamlKey, ...] = (
    YamlKey("storage", "memory_limit", "memory_limit_bytes", "1GB", SIZE_EXPECTED,
            "Memory DuckDB may use for its cache and queries.", parse_size),
    YamlKey("storage", "retention_check_interval", "retention_check_interval_s", "1m",
            POSITIVE_DURATION_EXPECTED,
            "How often retention (--retention-time, --retention-size) runs.", _positive_duration),
    YamlKey("storage", "max_exemplars", "max_exemplars", "100000", "a whole number >= 0",
            "Exemplars kept in memory: the newest ones, whatever their series (Prometheus's "
            "storage.exemplars.max_exemplars); 0 turns them off. Not kept across a restart.",
            _count),
    YamlKey("storage", "compress_samples", "compress_samples", "true", "true or false",
            "Move closed 2-hour windows of samples into compressed per-series chunks on a "
            "background thread: about 2.2 bytes per sample instead of 5-6, range queries as "
            "fast as over uncompressed rows (docs/benchmarks.md, Bytes on disk). false keeps "
            "every sample a row of its own.",
            _flag),
    YamlKey("global", "scrape_interval", "scrape_interval_s", "1m",
            POSITIVE_DURATION_EXPECTED,
            "Default scrape_interval of the scrape configs.", _positive_duration),
    YamlKey("global", "scrape_timeout", "scrape_timeout_s", "10s",
            POSITIVE_DURATION_EXPECTED,
            "Default scrape_timeout (capped by each job's interval).", _positive_duration),
    YamlKey("global", "evaluation_interval", "evaluation_interval_s", "1m",
            POSITIVE_DURATION_EXPECTED,
            "Default evaluation interval of rule groups.", _positive_duration),
    YamlKey("global", "external_labels", "external_labels", "{}",
            "a mapping of label names to values",
            "Labels attached to alerts sent to Alertmanager.", _external_labels),
    YamlKey("alerting", "alertmanagers", "alertmanager_urls", "[]",
            "a list of {scheme, path_prefix, static_configs: [{targets: [host:port]}]}",
            "Alertmanagers to send alerts to (Prometheus's shape).", _alertmanagers),
    YamlKey("alerting", "alertmanager_config", "alertmanager_config", "—",
            "a file path", "An Alertmanager-style routing file for the built-in notifier "
            "(relative to the --config file).", _path),
)  # fmt: skip

_SECTIONS: dict[str, type[Any]] = {
    "storage": StorageConfig,
    "global": GlobalConfig,
    "alerting": AlertingConfig,
}
#: Top-level keys of the file; Prometheus keys tripod does not use are refused by name.
TOP_LEVEL = (
    "alerting", "dashboards", "global", "limits", "rule_files", "scrape_configs", "storage",
)  # fmt: skip


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(known)}"


def _mapping(raw: Any, key: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid(key, raw, "a mapping of keys to values")
    return raw


def _section(name: str, raw: Any, base: Any) -> Any:
    values = _mapping(raw, name)
    keys = {k.name: k for k in YAML_KEYS if k.section == name}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in keys:
            msg = f"{name}.{key}: unknown key{_did_you_mean(str(key), sorted(keys))}"
            raise ConfigError(msg, f"{name}.{key}")
        spec = keys[key]
        out[spec.field] = spec.parse(value, f"{name}.{key}")
    return dataclasses.replace(base, **out)


def _limits(raw: Any) -> Limits:
    values = _mapping(raw, "limits")
    defaults = Limits()
    known = [f.name for f in dataclasses.fields(Limits)]
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            msg = f"limits.{key}: unknown limit{_did_you_mean(str(key), known)}"
            raise ConfigError(msg, f"limits.{key}")
        integer = isinstance(getattr(defaults, key), int)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value <= 0
            or (integer and not isinstance(value, int))
        ):
            kind = "a positive integer" if integer else "a positive number"
            raise invalid(f"limits.{key}", value, kind)
        out[key] = value
    return Limits(**out)


def _rule_files(raw: Any, base: Path) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        raise invalid("rule_files", raw, "a list of file paths or globs")
    return tuple(p if Path(p).is_absolute() else str(base / p) for p in raw)


def _dashboards(raw: Any, base: Path) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        raise invalid("dashboards", raw, "a list of Grafana dashboard JSON files or folders")
    return tuple(p if Path(p).is_absolute() else str(base / p) for p in raw)


def read_yaml(path: Path) -> dict[str, Any]:
    """The ``--config`` file as a mapping; :class:`ConfigError` if unreadable or not a mapping."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        msg = f"cannot read --config {path}: {exc.strerror or exc}"
        raise ConfigError(msg, "--config") from None
    except yaml.YAMLError as exc:
        reason = str(exc).replace("\n", " ")
        msg = f"--config {path} is not valid YAML: {reason}"
        raise ConfigError(msg, "--config") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        msg = (f"--config {path}: {type(raw).__name__} is not valid; expected a mapping with "
               "limits:, storage:, global:, scrape_configs:, rule_files:, alerting:")  # fmt: skip
        raise ConfigError(msg, "--config")
    return raw


def load_server_config(base: ServerConfig, config_file: Path | None = None) -> ServerConfig:
    """``base`` (flags and environment, already typed) with the ``--config`` file applied.

    Raises :class:`ConfigError` naming the file, the key, the value and what is expected.
    """
    if config_file is None:
        return base
    raw = read_yaml(config_file)
    try:
        for key in raw:
            if key not in TOP_LEVEL:
                msg = f"{key}: unknown top-level key{_did_you_mean(str(key), list(TOP_LEVEL))}"
                raise ConfigError(msg, str(key))
        global_ = _section("global", raw.get("global"), GlobalConfig())
        if global_.scrape_timeout_s > global_.scrape_interval_s:
            given = _mapping(raw.get("global"), "global")
            if "scrape_timeout" in given:
                raise invalid("global.scrape_timeout", given["scrape_timeout"],
                              "at most global.scrape_interval")  # fmt: skip
            global_ = dataclasses.replace(global_, scrape_timeout_s=global_.scrape_interval_s)
        storage = _section("storage", raw.get("storage"), base.storage)
        alerting = _section("alerting", raw.get("alerting"), AlertingConfig())
        folder = config_file.parent
        if alerting.alertmanager_config is not None:
            alerting = dataclasses.replace(
                alerting, alertmanager_config=folder / alerting.alertmanager_config
            )
        # flags add to the file's lists, and --alertmanager-config wins over the file's
        alerting = AlertingConfig(
            alertmanager_urls=tuple(
                dict.fromkeys([*alerting.alertmanager_urls, *base.alerting.alertmanager_urls])
            ),
            alertmanager_config=base.alerting.alertmanager_config or alerting.alertmanager_config,
        )
        return dataclasses.replace(
            base,
            storage=storage,
            limits=_limits(raw.get("limits")),
            global_config=global_,
            scrape_configs=parse_scrape_configs(
                raw.get("scrape_configs"), global_.scrape_interval_s, global_.scrape_timeout_s
            ),
            rule_files=(*_rule_files(raw.get("rule_files"), folder), *base.rule_files),
            dashboards=(*_dashboards(raw.get("dashboards"), folder), *base.dashboards),
            alerting=alerting,
            config_file=config_file,
        )
    except ConfigError as exc:
        raise ConfigError(f"--config {config_file}: {exc}", exc.key) from None
