"""Query parameters, parsed and validated in this one place for the HTTP API and the engine:
times (unix seconds or RFC 3339), durations (float seconds or ``1m30s``) and a range query's
start/end/step, with Prometheus's error wording."""

from __future__ import annotations

from datetime import timedelta

from tripod.server import _http
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
MIN_TIME_MS = _http.MIN_TIME_MS
MAX_TIME_MS = _http.MAX_TIME_MS


def parse_time_ms(name: str, text: str) -> int:
    """``time``/``start``/``end``: float unix seconds (ms precision) or RFC 3339, parsed by the
    server's one time parser (:func:`tripod.server._http.parse_time_ms`)."""
    try:
        return _http.parse_time_ms(name, text)
    except _http.HttpError as exc:
        raise BadDataError(str(exc)) from None


def parse_duration_ms(name: str, text: str) -> int:
    """``step``/``timeout``: float seconds or a Prometheus duration such as ``1m30s``, parsed by
    the server's one duration parser (:func:`tripod.server._http.parse_duration_ms`)."""
    try:
        return _http.parse_duration_ms(name, text)
    except _http.HttpError as exc:
        raise BadDataError(str(exc)) from None


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
