"""The command-line flags of ``tripod serve``, each with its environment variable, and the step
that turns their values into the base :class:`ServerConfig` (the YAML file is applied after).

``server/cli.py`` builds its click options from :data:`FLAGS`, and docs/server-config.md lists
them from the same table, so the two cannot drift.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from tripod.server.config._settings import AlertingConfig, RuleTiming, ServerConfig, StorageConfig
from tripod.server.config._units import (
    DURATION_EXPECTED,
    POSITIVE_DURATION_EXPECTED,
    SIZE_EXPECTED,
    ConfigError,
    invalid,
    parse_duration,
    parse_size,
)

__all__ = ["FLAGS", "LOG_LEVELS", "Flag", "FlagValues", "config_from_flags"]

LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclasses.dataclass(frozen=True)
class Flag:
    """One ``tripod serve`` option."""

    flag: str  # "--retention-time"
    env: str  # "TRIPOD_SERVE_RETENTION_TIME"
    default: str | None  # as typed on the command line; None: unset
    expected: str
    doc: str
    multiple: bool = False  # may be given more than once (values add up)

    @property
    def param(self) -> str:
        """The Python name click passes the value as (``retention_time``)."""
        return self.flag.removeprefix("--").replace("-", "_")


FLAGS: tuple[Flag, ...] = (
    Flag("--data-dir", "TRIPOD_SERVE_DATA_DIR", ".tripod", "a directory", "Where the store lives."),
    Flag("--host", "TRIPOD_SERVE_HOST", "127.0.0.1", "an IP address or host name",
         "Address to bind; a non-loopback address needs --token."),
    Flag("--port", "TRIPOD_SERVE_PORT", "4318", "a port, 0 to 65535",
         "Port for every API (OTLP, Prometheus, queries)."),
    Flag("--config", "TRIPOD_SERVE_CONFIG", None, "a YAML file",
         "YAML with limits:, storage:, global:, scrape_configs:, rule_files:, alerting:."),
    Flag("--retention-time", "TRIPOD_SERVE_RETENTION_TIME", "15d", DURATION_EXPECTED,
         "Drop data older than this; 0 keeps everything."),
    Flag("--retention-size", "TRIPOD_SERVE_RETENTION_SIZE", "0", SIZE_EXPECTED,
         "Drop the oldest data above this size; 0 means no limit."),
    Flag("--token", "TRIPOD_SERVE_TOKEN", None, "a secret string",
         "Bearer token required by every endpoint but /-/healthy."),
    Flag("--log-level", "TRIPOD_SERVE_LOG_LEVEL", "warning", " | ".join(LOG_LEVELS),
         "Level of the server's own log."),
    Flag("--rules", "TRIPOD_SERVE_RULES", None, "a file path or glob",
         "Rule files (Prometheus format) to evaluate, added to the config's rule_files:; "
         "repeatable (the variable takes space-separated globs).", multiple=True),
    Flag("--dashboards", "TRIPOD_SERVE_DASHBOARDS", None, "a file or folder path",
         "Grafana dashboard JSON files (or folders of them) the web UI shows, added to the "
         "config's dashboards:; repeatable (the variable takes space-separated paths). "
         "Without any, a built-in RED dashboard (needs tripod[codegen]).", multiple=True),
    Flag("--alertmanager-url", "TRIPOD_SERVE_ALERTMANAGER_URL", None, "an http(s) URL",
         "An Alertmanager to send alerts to (API v2), added to alerting.alertmanagers:; "
         "repeatable.", multiple=True),
    Flag("--alertmanager-config", "TRIPOD_SERVE_ALERTMANAGER_CONFIG", None,
         "an alertmanager.yml file",
         "Routing file of the built-in notifier (Alertmanager's format); wins over "
         "alerting.alertmanager_config:."),
    Flag("--external-url", "TRIPOD_SERVE_EXTERNAL_URL", None, "an http(s) URL",
         "The URL users reach this server at (alerts' generatorURL, $externalURL); default "
         "http://<host>:<port>."),
    Flag("--alert-resend-delay", "TRIPOD_SERVE_ALERT_RESEND_DELAY", "1m",
         POSITIVE_DURATION_EXPECTED,
         "Least time between two sends of a firing alert (Prometheus's "
         "--rules.alert.resend-delay)."),
    Flag("--alert-for-outage-tolerance", "TRIPOD_SERVE_ALERT_FOR_OUTAGE_TOLERANCE", "1h",
         POSITIVE_DURATION_EXPECTED,
         "Longest downtime after which pending `for` clocks are still restored "
         "(--rules.alert.for-outage-tolerance)."),
    Flag("--alert-for-grace-period", "TRIPOD_SERVE_ALERT_FOR_GRACE_PERIOD", "10m",
         POSITIVE_DURATION_EXPECTED,
         "Least wait before a restored alert fires; only alerts whose `for` is at least this "
         "are restored (--rules.alert.for-grace-period)."),
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class FlagValues:
    """The flags as click parsed them (strings, except the already-checked port)."""

    data_dir: Path
    host: str
    port: int
    retention_time: str
    retention_size: str
    token: str | None
    log_level: str
    rules: tuple[str, ...] = ()
    dashboards: tuple[str, ...] = ()
    alertmanager_url: tuple[str, ...] = ()
    alertmanager_config: str | None = None
    external_url: str | None = None
    alert_resend_delay: str = "1m"
    alert_for_outage_tolerance: str = "1h"
    alert_for_grace_period: str = "10m"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(raw: str, flag: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid(flag, raw, "an http:// or https:// URL with a host")
    return raw.rstrip("/")


def _positive(raw: str, flag: str) -> float:
    seconds = parse_duration(raw, flag)
    if seconds <= 0:
        raise invalid(flag, raw, POSITIVE_DURATION_EXPECTED)
    return seconds


def _alerting(values: FlagValues) -> tuple[AlertingConfig, RuleTiming]:
    config = values.alertmanager_config
    if config is not None and not config.strip():
        raise invalid("--alertmanager-config", config, "a file path")
    alerting = AlertingConfig(
        alertmanager_urls=tuple(_url(u, "--alertmanager-url") for u in values.alertmanager_url),
        alertmanager_config=Path(config) if config else None,
    )
    timing = RuleTiming(
        resend_delay_s=_positive(values.alert_resend_delay, "--alert-resend-delay"),
        for_outage_tolerance_s=_positive(
            values.alert_for_outage_tolerance, "--alert-for-outage-tolerance"
        ),
        for_grace_period_s=_positive(values.alert_for_grace_period, "--alert-for-grace-period"),
    )
    return alerting, timing


def config_from_flags(values: FlagValues) -> ServerConfig:
    """The typed settings of the flags; :class:`ConfigError` names the flag on bad input."""
    storage = StorageConfig(
        retention_time_s=parse_duration(values.retention_time, "--retention-time"),
        retention_size_bytes=parse_size(values.retention_size, "--retention-size"),
    )
    token = values.token or None
    if not _is_loopback(values.host) and not token:
        msg = (f"--host {values.host} is not a loopback address: set --token or "
               "TRIPOD_SERVE_TOKEN so only holders of the token can read and write")  # fmt: skip
        raise ConfigError(msg, "--host")
    if values.log_level not in LOG_LEVELS:
        msg = f"--log-level: {values.log_level!r} is not valid; expected {' | '.join(LOG_LEVELS)}"
        raise ConfigError(msg, "--log-level")
    alerting, timing = _alerting(values)
    return ServerConfig(
        data_dir=values.data_dir,
        host=values.host,
        port=values.port,
        token=token,
        log_level=values.log_level,
        storage=storage,
        rule_files=tuple(p for p in values.rules if p),
        dashboards=tuple(p for p in values.dashboards if p),
        alerting=alerting,
        rule_timing=timing,
        external_url=_url(values.external_url, "--external-url") if values.external_url else "",
    )
