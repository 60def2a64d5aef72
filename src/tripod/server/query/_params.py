"""Query-string parsing shared by the trace and log APIs: every bad value is an
:class:`~tripod.server._http.HttpError` (400) naming the parameter and what is expected."""

from __future__ import annotations

import re
from typing import Any

from tripod.server._http import HttpError, parse_duration_ms, parse_time_ms
from tripod.server.store.logs import decode_tail
from tripod.server.store.spans import decode_cursor

__all__ = [
    "MAX_NS",
    "SPAN_ID",
    "TRACE_ID",
    "attributes",
    "cursor",
    "duration_ns",
    "hex_id",
    "limit",
    "tail",
    "time_range",
]

TRACE_ID = re.compile(r"[0-9a-f]{32}\Z")
SPAN_ID = re.compile(r"[0-9a-f]{16}\Z")
MAX_NS = 2**63 - 1


def _time_ns(name: str, raw: str) -> int:
    return max(0, min(MAX_NS, parse_time_ms(name, raw) * 1_000_000))


def duration_ns(name: str, raw: str) -> int:
    ms = parse_duration_ms(name, raw)
    if ms < 0:
        msg = f'invalid parameter "{name}": "{raw}" is negative; expected a duration such as 250ms'
        raise HttpError(400, msg)
    return ms * 1_000_000


def limit(raw: str | None, default: int, most: int) -> int:
    """``limit``: a positive integer up to ``most`` (400 above it, naming the bound)."""
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        msg = f"limit={raw[:40]!r} is not a positive integer"
        raise HttpError(400, msg)
    if int(raw) > most:
        msg = f"limit={raw} is above the most one page returns ({most}); page with 'cursor'"
        raise HttpError(400, msg)
    return int(raw)


def attributes(params: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for key, value in params.multi_items():
        if key.startswith("attr."):
            name = key[5:]
            if not name:
                msg = "attr.<key>=<value> needs a key after 'attr.'"
                raise HttpError(400, msg)
            out.append((name, value))
    return tuple(out)


def time_range(params: Any) -> tuple[int, int]:
    start = _time_ns("start", params["start"]) if "start" in params else 0
    end = _time_ns("end", params["end"]) if "end" in params else MAX_NS
    if end < start:
        msg = "end is before start: swap them"
        raise HttpError(400, msg)
    return start, end


def cursor(params: Any) -> str | None:
    value = params.get("cursor")
    if value:
        try:
            decode_cursor(value)
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
    return value or None


def tail(params: Any, name: str) -> str | None:
    value = params.get(name)
    if value:
        try:
            decode_tail(value)
        except ValueError as exc:
            raise HttpError(400, f"{name}: {exc}") from None
    return value or None


def hex_id(params: Any, name: str, pattern: re.Pattern[str], digits: int) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not pattern.match(value.lower()):
        msg = f"{name}={value[:64]!r} is not {digits} hex digits"
        raise HttpError(400, msg)
    return str(value.lower())
