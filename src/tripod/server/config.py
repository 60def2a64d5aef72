"""`tripod serve` settings: flags, environment and the ``--config`` YAML as typed, frozen values.

Also the one parser of Prometheus durations and the one parser of sizes the server uses.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

__all__ = ["Limits", "ServerConfig", "parse_duration", "parse_size"]

_DURATION_RE = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?\Z"
)
_DURATION_UNITS = (365 * 86400.0, 7 * 86400.0, 86400.0, 3600.0, 60.0, 1.0, 0.001)
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGTPE]?i?B?)\Z", re.IGNORECASE)
_SIZE_POWERS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration (``15d``, ``1h30m``, ``0``); ValueError if malformed."""
    text = text.strip()
    if text == "0":
        return 0.0
    m = _DURATION_RE.match(text)
    if not text or m is None or not any(m.groups()):
        msg = f"{text!r} is not a duration: expected e.g. 15d, 12h, 90m, 1w2d or 0"
        raise ValueError(msg)
    return sum(int(g) * unit for g, unit in zip(m.groups(), _DURATION_UNITS, strict=True) if g)


def parse_size(text: str) -> int:
    """Bytes in a size like ``512MB``, ``2GiB`` or ``0`` (powers of 1024, as Prometheus)."""
    m = _SIZE_RE.match(text.strip())
    if m is None:
        msg = f"{text!r} is not a size: expected bytes with a unit, e.g. 512MB, 10GB or 0"
        raise ValueError(msg)
    prefix = m.group(2).upper().rstrip("B").rstrip("I")
    return int(float(m.group(1)) * 1024 ** _SIZE_POWERS[prefix])


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
