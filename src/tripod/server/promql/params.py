"""Query parameters, parsed and validated in this one place for the HTTP API and the engine:
times (unix seconds or RFC 3339), durations (float seconds or ``1m30s``) and a range query's
start/end/step, with Prometheus's error wording."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

import promql_parser as pp

from tripod.server.promql.errors import BadDataError

__all__ = [
    "MAX_POINTS",
    "MAX_TIME_MS",
    "MIN_TIME_MS",
    "check_range",
    "duration_ms",
    "parse_duration_ms",
    "parse_range",
    "parse_time_ms",
]

#: Prometheus's limit on the points per series of a range query, ``(end - start) / step``.
MAX_POINTS = 11_000

# Prometheus's minTime / maxTime (the API's defaults for open-ended ranges).
MIN_TIME_MS = (-9_223_372_036_854_775 + 62_135_596_801) * 1000
MAX_TIME_MS = (9_223_372_036_854_775 - 62_135_596_801) * 1000 + 999
_MIN_TIME_TEXT = {"-292273086-05-16T16:47:06Z"}
_MAX_TIME_TEXT = {"292277025-08-18T07:12:54.999999999Z"}

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_time_ms(name: str, text: str) -> int:
    """``time``/``start``/``end``: float unix seconds (ms precision) or RFC 3339."""
    raw = text.strip()
    try:
        number = float(raw)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            seconds = number
            whole = math.trunc(seconds)
            millis = round((seconds - whole) * 1000) / 1000
            return int(whole) * 1000 + round(millis * 1000)
    if raw in _MIN_TIME_TEXT:
        return MIN_TIME_MS
    if raw in _MAX_TIME_TEXT:
        return MAX_TIME_MS
    found = _RFC3339.match(raw)
    if found:
        frac = found.group(7) or ""
        base = raw[: found.start(7)] if frac else raw[: found.start(8)]
        zone = found.group(8)
        zone = "+00:00" if zone in {"Z", "z"} else zone
        try:
            dt = datetime.fromisoformat(base.replace("t", "T") + zone)
        except ValueError:
            dt = None
        if dt is not None:
            ms = int(dt.timestamp()) * 1000
            if frac:
                ms += int((frac[1:] + "000")[:3])
            return ms
    msg = f'invalid parameter "{name}": cannot parse "{text}" to a valid timestamp'
    raise BadDataError(msg)


def parse_duration_ms(name: str, text: str) -> int:
    """``step``/``timeout``: float seconds or a Prometheus duration such as ``1m30s``."""
    raw = text.strip()
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or abs(seconds) * 1e9 > 2**63 - 1:
            msg = (
                f'invalid parameter "{name}": cannot parse "{text}" to a valid duration. '
                "It overflows int64"
            )
            raise BadDataError(msg)
        return int(seconds * 1000)
    try:
        delta = pp.parse_duration(raw)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # the parser's Rust errors
        msg = f'invalid parameter "{name}": cannot parse "{text}" to a valid duration'
        raise BadDataError(msg) from None
    return duration_ms(delta)


def duration_ms(delta: timedelta | None) -> int:
    """A parsed duration (None: absent) in whole milliseconds."""
    if delta is None:
        return 0
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def check_range(start_ms: int, end_ms: int, step_ms: int, max_points: int = MAX_POINTS) -> None:
    """A range query's bounds and step, in Prometheus's order of checks."""
    if end_ms < start_ms:
        msg = "end timestamp must not be before start time"
        raise BadDataError(msg)
    if step_ms <= 0:
        msg = (
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        )
        raise BadDataError(msg)
    if (end_ms - start_ms) // step_ms > max_points:
        msg = (
            f"exceeded maximum resolution of {max_points:,} points per timeseries. "
            "Try decreasing the query resolution (?step=XX)"
        )
        raise BadDataError(msg)


def parse_range(
    start: str, end: str, step: str, max_points: int = MAX_POINTS
) -> tuple[int, int, int]:
    """``start``/``end``/``step`` of ``query_range`` as ms, checked as :func:`check_range`;
    each parameter is parsed only once those before it are valid, as Prometheus does."""
    start_ms = parse_time_ms("start", start)
    end_ms = parse_time_ms("end", end)
    if end_ms < start_ms:
        check_range(start_ms, end_ms, 1, max_points)
    step_ms = parse_duration_ms("step", step)
    check_range(start_ms, end_ms, step_ms, max_points)
    return start_ms, end_ms, step_ms
