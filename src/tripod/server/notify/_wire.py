"""Wire details Alertmanager and Prometheus fix by their Go types: time layouts, fingerprints.

* ``strfmt.DateTime`` (API v2 alerts and silences) writes RFC 3339 with exactly three
  fractional digits, truncated, not rounded; Go's zero time stands for "unset".
* ``time.Time`` in the webhook JSON writes RFC3339Nano: up to nine digits, trailing zeros cut.
* A fingerprint is FNV-1a 64 over the sorted ``name 0xff value 0xff`` pairs (prometheus/common).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "fingerprint",
    "format_millis",
    "format_nanos",
    "go_json",
    "label_set_string",
    "parse_duration",
    "parse_time",
    "quote_meta",
    "truncate_millis",
]

_GO_ZERO_MILLIS = "0001-01-01T00:00:00.000Z"
_GO_ZERO_NANOS = "0001-01-01T00:00:00Z"
_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_META = re.compile(r"([\\.+*?()|\[\]{}^$])")
_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?\Z"
)
_UNITS = (365 * 86400.0, 7 * 86400.0, 86400.0, 3600.0, 60.0, 1.0, 0.001)


def _split(ts: float) -> tuple[str, int]:
    # Microseconds first: a float near 1.7e9 s has ~0.2 us resolution, so ts * 1e9 would
    # invent nanosecond digits (and truncating to milliseconds could lose one).
    us = round(ts * 1e6)
    seconds, frac_us = divmod(us, 1_000_000)
    whole = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return whole, frac_us * 1000


def truncate_millis(ts: float) -> float:
    """``ts`` cut to whole milliseconds, as a trip through the API v2 JSON would cut it."""
    return (round(ts * 1e6) // 1000) / 1000


def format_millis(ts: float | None) -> str:
    """``strfmt.DateTime`` layout (``2006-01-02T15:04:05.000Z07:00``) in UTC; None is Go's zero."""
    if ts is None:
        return _GO_ZERO_MILLIS
    whole, frac = _split(ts)
    return f"{whole}.{frac // 1_000_000:03d}Z"


def format_nanos(ts: float | None) -> str:
    """Go ``time.Time`` JSON (RFC3339Nano) in UTC; None is Go's zero time."""
    if ts is None:
        return _GO_ZERO_NANOS
    whole, frac = _split(ts)
    if frac == 0:
        return f"{whole}Z"
    return f"{whole}.{f'{frac:09d}'.rstrip('0')}Z"


def parse_time(raw: str) -> float | None:
    """RFC 3339 to Unix seconds; Go's zero time (year 1) is None. Raises ValueError."""
    if raw.startswith("0001-01-01T00:00:00"):
        return None
    text = raw.replace("Z", "+00:00").replace("z", "+00:00")
    m = re.match(r"(.*T\d\d:\d\d:\d\d)\.(\d+)(.*)\Z", text)
    frac = 0.0
    if m:  # Python's fromisoformat takes at most six digits before 3.11's full support
        text = m.group(1) + m.group(3)
        frac = float("0." + m.group(2))
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        msg = f"time {raw!r} has no time zone"
        raise ValueError(msg)
    return parsed.timestamp() + frac


def parse_duration(raw: object, where: str) -> float:
    """Prometheus ``model.Duration`` (``1h30m``, ``10s``, ``500ms``; ``0`` alone) in seconds."""
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if text == "0":
        return 0.0
    m = _DURATION.match(text)
    if not text or m is None:
        msg = f"{where}: {raw!r} is not a duration: expected e.g. 30s, 5m, 4h or 1h30m"
        raise ValueError(msg)
    return sum(int(g) * unit for g, unit in zip(m.groups(), _UNITS, strict=True) if g)


def fingerprint(labels: Mapping[str, str]) -> int:
    """prometheus/common ``LabelSet.Fingerprint``."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name.encode(), b"\xff", labels[name].encode(), b"\xff"):
            for byte in part:
                h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return h


def label_set_string(labels: Mapping[str, str]) -> str:
    """prometheus/common ``LabelSet.String``: ``{a="1", b="2"}`` sorted, Go-quoted values."""
    return "{" + ", ".join(f"{k}={_go_quote(labels[k])}" for k in sorted(labels)) + "}"


def _go_quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def quote_meta(text: str) -> str:
    """Go ``regexp.QuoteMeta`` (Alertmanager escapes the receiver name with it)."""
    return _META.sub(r"\\\1", text)


def go_json(value: Any, *, newline: bool = True) -> bytes:
    """JSON as Go's ``encoding/json`` writes it: compact, ``<>&`` escaped; ``json.Encoder``
    (the webhook) ends with a newline, ``json.Marshal`` (the v2 alert payload) does not."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (text + "\n" if newline else text).encode()
