"""How promtool prints durations, floats and label sets in its messages."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal

__all__ = ["float_e", "go_duration", "labels_str", "model_duration"]


def go_duration(ms: int) -> str:
    """Go's ``time.Duration.String`` for whole milliseconds: ``0s``, ``1m30s``, ``2h0m0s``."""
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    if ms < 1000:
        return f"{sign}{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    secs = f"{seconds}.{millis:03d}".rstrip("0").rstrip(".") if millis else str(seconds)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


_UNITS = (
    ("y", 365 * 86_400_000, True),
    ("w", 7 * 86_400_000, True),
    ("d", 86_400_000, False),
    ("h", 3_600_000, False),
    ("m", 60_000, False),
    ("s", 1000, False),
    ("ms", 1, False),
)


def model_duration(ms: int) -> str:
    """Prometheus's ``model.Duration.String``: ``0s``, ``1m30s``, ``1w``, ``90d``."""
    if ms == 0:
        return "0s"
    out = ""
    for unit, size, exact in _UNITS:
        if exact and ms % size:
            continue
        if ms >= size:
            out += f"{ms // size}{unit}"
            ms %= size
    return out


def float_e(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'E', -1, 64)``: ``2E+00``, ``1.5E-03``, ``+Inf``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return f"{sign}0E+00"
    _, digits, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(str(d) for d in digits)
    exp = exponent + len(text) - 1
    mant = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{sign}{mant}E{'+' if exp >= 0 else '-'}{abs(exp):02d}"


def labels_str(labels: Mapping[str, str]) -> str:
    """Prometheus's ``labels.Labels.String``: ``{a="1", b="2"}`` in name order."""
    inner = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(labels.items()))
    return "{" + inner + "}"
