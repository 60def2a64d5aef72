"""The typed, frozen settings of ``tripod serve``.

:class:`ServerConfig` is what the rest of the server reads; it is built once by
:func:`~tripod.server.config.load_server_config` from flags, environment and the ``--config``
YAML. Limits carry their one-line doc in the field's metadata; flags and the other YAML keys are
documented in the tables that parse them (``FLAGS``, ``YAML_KEYS``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tripod.server.config._scrape import ScrapeConfig

__all__ = [
    "AlertingConfig",
    "GlobalConfig",
    "Limits",
    "RuleTiming",
    "ServerConfig",
    "StorageConfig",
]

_EMPTY: Mapping[str, str] = MappingProxyType({})


def _doc(default: Any, doc: str) -> Any:
    return dataclasses.field(default=default, metadata={"doc": doc})


@dataclasses.dataclass(frozen=True)
class Limits:
    """Ingest and query limits (``limits:``): exceeding one is a counted rejection with a
    reason, not a crash."""

    max_body_bytes: int = _doc(
        16 * 1024 * 1024,
        "Largest request body as sent; OTLP bodies also decompressed, import and remote write "
        "bodies up to 8x that decompressed.",
    )
    max_labels_per_series: int = _doc(64, "Labels per series, `__name__` included.")
    max_label_name_length: int = _doc(256, "Characters in a label name.")
    max_label_value_length: int = _doc(4096, "Characters in a label value.")
    max_series_per_metric: int = _doc(100_000, "Series of one metric name (cardinality guard).")
    max_attributes: int = _doc(128, "Attributes kept per span, log record or resource.")
    max_attribute_value_length: int = _doc(8192, "Characters kept of an attribute value.")
    query_timeout_s: float = _doc(120.0, "Seconds a query may run before it is stopped.")
    query_max_samples: int = _doc(50_000_000, "Samples one PromQL query may load.")
    max_rows: int = _doc(1000, "Rows (traces, log records) one search returns at most.")


@dataclasses.dataclass(frozen=True)
class StorageConfig:
    """The store (``storage:`` in the YAML, ``--retention-*`` flags)."""

    retention_time_s: float = 15 * 86400.0  # --retention-time; 0 keeps data of any age
    retention_size_bytes: int = 0  # --retention-size; 0: no size limit
    retention_check_interval_s: float = 60.0
    memory_limit_bytes: int = 1024**3
    max_exemplars: int = 100_000  # in memory, newest kept (Prometheus's circular storage)
    compress_samples: bool = True  # closed windows into per-series chunks (store/chunks.py)


@dataclasses.dataclass(frozen=True)
class GlobalConfig:
    """Prometheus's ``global:`` section: defaults for scrape configs and rule groups."""

    scrape_interval_s: float = 60.0
    scrape_timeout_s: float = 10.0
    evaluation_interval_s: float = 60.0
    external_labels: Mapping[str, str] = dataclasses.field(default_factory=lambda: _EMPTY)


@dataclasses.dataclass(frozen=True)
class AlertingConfig:
    """Where alerts go: Alertmanagers (Prometheus's ``alerting.alertmanagers``) and/or the
    built-in router configured by an Alertmanager-style file."""

    alertmanager_urls: tuple[str, ...] = ()  # e.g. http://127.0.0.1:9093
    alertmanager_config: Path | None = None


@dataclasses.dataclass(frozen=True)
class RuleTiming:
    """Prometheus's ``--rules.alert.*`` flags: how alerts are resent and restored."""

    resend_delay_s: float = 60.0  # --alert-resend-delay
    for_outage_tolerance_s: float = 3600.0  # --alert-for-outage-tolerance
    for_grace_period_s: float = 600.0  # --alert-for-grace-period


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """Every setting of a running ``tripod serve``; read-only once built."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 4318
    token: str | None = None  # when set, every endpoint but /-/healthy needs this bearer token
    log_level: str = "warning"
    storage: StorageConfig = dataclasses.field(default_factory=StorageConfig)
    limits: Limits = dataclasses.field(default_factory=Limits)
    global_config: GlobalConfig = dataclasses.field(default_factory=GlobalConfig)
    scrape_configs: tuple[ScrapeConfig, ...] = ()
    rule_files: tuple[str, ...] = ()  # as written, relative ones joined to the config's folder
    dashboards: tuple[str, ...] = ()  # Grafana JSON files or folders; relative: as rule_files
    alerting: AlertingConfig = dataclasses.field(default_factory=AlertingConfig)
    rule_timing: RuleTiming = dataclasses.field(default_factory=RuleTiming)
    external_url: str = ""  # --external-url; empty: http://<host>:<port>
    config_file: Path | None = None  # the --config file these came from, if any

    @property
    def public_url(self) -> str:
        """The URL users reach this server at (alerts' ``generatorURL``, ``$externalURL``)."""
        if self.external_url:
            return self.external_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
