"""The command-line flags of ``tripod serve``, each with its environment variable, and the step
that turns their values into the base :class:`ServerConfig` (the YAML file is applied after).

``server/cli.py`` builds its click options from :data:`FLAGS`, and docs/server-config.md lists
them from the same table, so the two cannot drift.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

from tripod.server.config._settings import ServerConfig, StorageConfig
from tripod.server.config._units import (
    DURATION_EXPECTED,
    SIZE_EXPECTED,
    ConfigError,
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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    return ServerConfig(
        data_dir=values.data_dir,
        host=values.host,
        port=values.port,
        token=token,
        log_level=values.log_level,
        storage=storage,
    )
