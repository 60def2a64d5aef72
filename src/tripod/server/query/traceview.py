"""The column-wise form of one trace (``GET /api/v1/traces/<id>?format=columns``).

A 10,000-span trace as one JSON object of parallel arrays: strings that repeat (services,
span names) are dictionary-encoded, times are nanosecond offsets from the trace's start (exact
as JSON numbers for traces shorter than 104 days), and each span's parent is its row index, so
the UI builds the tree without a lookup table. Attributes and events are left out unless asked
for (``attributes=true``); the UI fetches one span's details from
``/api/v1/traces/<id>/spans/<span_id>``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["KINDS", "STATUSES", "columns_json"]

#: the ``kinds`` dictionary (a span's ``kind`` column holds an index into it)
KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
#: the ``statuses`` dictionary (a span's ``status`` column holds an index into it)
STATUSES = ("unset", "ok", "error")


def _encode(values: list[str]) -> tuple[list[str], list[int]]:
    table: dict[str, int] = {}
    codes = [table.setdefault(v, len(table)) for v in values]
    return list(table), codes


def columns_json(
    trace_id: str, cols: dict[str, list[Any]], truncated: bool, with_attributes: bool
) -> dict[str, Any]:
    """The column-wise answer for ``cols`` (a store's ``trace_columns``)."""
    starts: list[int] = cols["start_ns"]
    durations: list[int] = cols["duration_ns"]
    t0 = min(starts)
    services, service_idx = _encode(cols["service"])
    names, name_idx = _encode(cols["name"])
    row_of = {span_id: i for i, span_id in enumerate(cols["span_id"])}
    kind_of = {k: i for i, k in enumerate(KINDS)}
    status_of = {s: i for i, s in enumerate(STATUSES)}
    columns: dict[str, Any] = {
        "spanId": cols["span_id"],
        "parentIdx": [
            -1 if not p or row_of.get(p, i) == i else row_of[p]
            for i, p in enumerate(cols["parent_span_id"])
        ],
        "start": [s - t0 for s in starts],
        "duration": durations,
        "service": service_idx,
        "name": name_idx,
        "kind": [kind_of.get(k, 0) for k in cols["kind"]],
        "status": [status_of.get(s, 0) for s in cols["status_code"]],
        "eventCount": cols["event_count"],
    }
    if with_attributes:
        columns["attributes"] = [json.loads(a) for a in cols["attributes"]]
        columns["events"] = [json.loads(e) for e in cols["events"]]
    return {
        "traceId": trace_id,
        "startTimeUnixNano": str(t0),
        "endTimeUnixNano": str(max(s + d for s, d in zip(starts, durations, strict=True))),
        "spanCount": len(starts),
        "truncated": truncated,
        "services": services,
        "names": names,
        "kinds": list(KINDS),
        "statuses": list(STATUSES),
        "statusMessages": {str(i): m for i, m in enumerate(cols["status_message"]) if m},
        "columns": columns,
    }
