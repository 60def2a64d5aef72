"""What every part of the server is handed: the stores, the configuration, the self-metrics.

Route providers (``routes(ctx) -> list[BaseRoute]`` in ingest/*, query/*, promql/api.py) and
background loops (scrape) get a :class:`ServerContext`; none of them reaches into another's module.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from tripod.server.store.model import SampleStore

__all__ = ["Limits", "ServerConfig", "ServerContext"]


@dataclasses.dataclass(frozen=True)
class Limits:
    """Ingest and query limits: exceeding one is a counted rejection with a reason, not a crash."""

    max_body_bytes: int = 16 * 1024 * 1024
    max_labels_per_series: int = 64
    max_label_name_length: int = 256
    max_label_value_length: int = 4096
    max_series_per_metric: int = 100_000
    max_attributes: int = 128
    max_attribute_value_length: int = 8192
    query_timeout_s: float = 120.0
    query_max_samples: int = 50_000_000
    max_rows: int = 1000


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """Resolved `tripod serve` options plus the parsed ``--config`` YAML."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 4318
    retention_time_s: float = 15 * 86400.0  # 0 keeps data of any age
    retention_size_bytes: int = 0  # 0: no size limit
    limits: Limits = dataclasses.field(default_factory=Limits)
    scrape_configs: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)  # the whole --config file
    token: str | None = None  # when set, every endpoint but /-/healthy needs this bearer token


@dataclasses.dataclass
class ServerContext:
    config: ServerConfig
    samples: SampleStore
    spans: Any  # span store (server/store/spans.py)
    logs: Any  # log store (server/store/logs.py)
    registry: CollectorRegistry  # the server's own /metrics
