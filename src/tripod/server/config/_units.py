"""The one parser of Prometheus durations and the one parser of sizes, and the error both raise.

Durations use Prometheus's syntax (``model.ParseDuration``): units ``y w d h m s ms`` from the
largest down, each at most once, e.g. ``1h30m``, ``15s``, ``2d``, ``500ms``, or ``0``. Sizes are
a number and a unit, ``B KB MB GB TB PB EB`` (powers of 1024, as Prometheus's
``--storage.tsdb.retention.size``; ``KiB``... are accepted too), or ``0``.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ConfigError", "format_duration", "invalid", "parse_duration", "parse_size"]

_DURATION_RE = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?\Z"
)
_DURATION_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_DURATION_NAMES = ("y", "w", "d", "h", "m", "s", "ms")
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGTPE]?)(i?)(B?)\Z", re.IGNORECASE)
_SIZE_POWERS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}

DURATION_EXPECTED = "a Prometheus duration such as 15s, 1m, 1h30m, 2d, 500ms or 0"
POSITIVE_DURATION_EXPECTED = "a positive Prometheus duration such as 15s, 1m, 1h30m, 2d or 500ms"
SIZE_EXPECTED = "a size such as 512MB, 10GB or 0 (B, KB, MB, GB, TB; powers of 1024)"


class ConfigError(ValueError):
    """A setting of ``tripod serve`` it cannot use. The message names the key, the value given
    and what is expected; ``key`` is the flag or the YAML path (``limits.max_rows``)."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


def invalid(key: str, value: Any, expected: str) -> ConfigError:
    """The error for ``key`` set to ``value``: ``"<key>: <value> is not valid; expected ..."``."""
    return ConfigError(f"{key}: {value!r} is not valid; expected {expected}", key)


def parse_duration(raw: Any, key: str) -> float:
    """Seconds in a Prometheus duration (``raw`` a string, or the integer 0 from YAML).

    Raises :class:`ConfigError` naming ``key`` (a flag, a YAML path or a query parameter).
    """
    if isinstance(raw, int) and not isinstance(raw, bool) and raw == 0:
        return 0.0
    text = raw.strip() if isinstance(raw, str) else None
    if text == "0":
        return 0.0
    match = _DURATION_RE.match(text) if text else None
    if match is None or not any(match.groups()):
        raise invalid(key, raw, DURATION_EXPECTED)
    ms = sum(int(g) * unit for g, unit in zip(match.groups(), _DURATION_UNITS_MS, strict=True) if g)
    return ms / 1000.0


def format_duration(seconds: float) -> str:
    """``seconds`` as Prometheus prints a duration: ``1m``, ``1h30m``, ``15s``, ``500ms``."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    parts = []
    for unit, name in zip(_DURATION_UNITS_MS, _DURATION_NAMES, strict=True):
        count, ms = divmod(ms, unit)
        if count:
            parts.append(f"{count}{name}")
    return "".join(parts)


def parse_size(raw: Any, key: str) -> int:
    """Bytes in a size such as ``512MB``, ``2GiB``, ``1024`` (bytes) or ``0``.

    Raises :class:`ConfigError` naming ``key``.
    """
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    match = _SIZE_RE.match(raw.strip()) if isinstance(raw, str) else None
    if match is None or (match.group(3) and not match.group(2)):
        raise invalid(key, raw, SIZE_EXPECTED)
    return int(float(match.group(1)) * 1024 ** _SIZE_POWERS[match.group(2).upper()])
