"""OTLP spans and log records to the span/log stores' columns, with the attribute limits.

An item breaking a limit (too many attributes, an oversized value, a malformed id) is refused
with a counted reason; the rest of the request is kept (OTLP partial success).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from tripod.server.config import Limits
from tripod.server.store.logs import LOG_COLUMNS, level_of
from tripod.server.store.model import AppendResult
from tripod.server.store.spans import SPAN_COLUMNS

__all__ = ["any_value", "attributes_dict", "logs_to_columns", "spans_to_columns"]

_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_STATUS = ("unset", "ok", "error")


class LimitError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def any_value(value: Any) -> Any:
    """An OTLP AnyValue as plain JSON-able Python (bytes as base64, as OTLP/JSON does)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def _too_long(key: str, size: int, limits: Limits) -> LimitError:
    msg = (
        f"attribute {key[:64]!r} has a value of {size} characters, more than "
        f"limits.max_attribute_value_length {limits.max_attribute_value_length}"
    )
    return LimitError("attribute_value_too_long", msg)


def attributes_dict(kvs: Any, limits: Limits, what: str) -> dict[str, Any]:
    """OTLP KeyValues as a dict, refusing more than ``limits.max_attributes`` or long values."""
    if len(kvs) > limits.max_attributes:
        msg = (
            f"{what} has {len(kvs)} attributes, more than limits.max_attributes "
            f"{limits.max_attributes}; drop attributes or raise the limit"
        )
        raise LimitError("too_many_attributes", msg)
    out: dict[str, Any] = {}
    max_len = limits.max_attribute_value_length
    for kv in kvs:  # the common kinds inline: this loop is most of the cost of a span
        v = kv.value
        kind = v.WhichOneof("value")
        if kind == "string_value":
            value: Any = v.string_value
            if len(value) > max_len:
                raise _too_long(kv.key, len(value), limits)
        elif kind == "int_value":
            value = v.int_value
        elif kind == "bool_value":
            value = v.bool_value
        elif kind == "double_value":
            value = v.double_value
        else:
            value = any_value(v)
            if value is not None and len(_dumps(value)) > max_len:
                raise _too_long(kv.key, len(_dumps(value)), limits)
        out[kv.key] = value
    return out


_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _resource(resource: Any, limits: Limits) -> tuple[str, str, dict[str, Any]]:
    attrs = attributes_dict(resource.attributes, limits, "resource")
    service = attrs.get("service.name")
    return (str(service) if service else "unknown_service"), _dumps(attrs), attrs


def _scope(scope: Any) -> str:
    return _dumps({"name": scope.name, "version": scope.version})


def _columns(names: Sequence[str], rows: list[tuple[Any, ...]]) -> dict[str, list[Any]]:
    if not rows:
        return {name: [] for name in names}
    return dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))


def spans_to_columns(request: Any, limits: Limits, result: AppendResult) -> dict[str, list[Any]]:
    """Columns of the spans in an ExportTraceServiceRequest; refusals go to ``result``."""
    rows: list[tuple[Any, ...]] = []
    for rs in request.resource_spans:
        try:
            service, resource_json, _ = _resource(rs.resource, limits)
        except LimitError as exc:
            for ss in rs.scope_spans:
                for _ in ss.spans:
                    result.reject(exc.reason, str(exc))
            continue
        for ss in rs.scope_spans:
            scope_json = _scope(ss.scope)
            for span in ss.spans:
                try:
                    row = _span_row(span, limits, service, resource_json, scope_json)
                except LimitError as exc:
                    result.reject(exc.reason, str(exc))
                    continue
                rows.append(row)
    result.accepted += len(rows)
    return _columns(SPAN_COLUMNS, rows)


def _span_row(
    span: Any, limits: Limits, service: str, resource_json: str, scope_json: str
) -> tuple[Any, ...]:
    if len(span.trace_id) != 16 or len(span.span_id) != 8:
        msg = (
            f"span {span.name!r} has a trace id of {len(span.trace_id)} bytes and a span id of "
            f"{len(span.span_id)} bytes; expected 16 and 8"
        )
        raise LimitError("invalid_id", msg)
    trace_id = span.trace_id.hex()
    attrs = _dumps(attributes_dict(span.attributes, limits, "span")) if span.attributes else "{}"
    events = (
        "[]"
        if not span.events
        else _dumps(
            [
                {
                    "name": ev.name,
                    "time_unix_nano": str(ev.time_unix_nano),
                    "attributes": attributes_dict(ev.attributes, limits, f"event {ev.name!r}"),
                }
                for ev in span.events
            ]
        )
    )
    links = (
        "[]"
        if not span.links
        else _dumps(
            [
                {
                    "trace_id": link.trace_id.hex(),
                    "span_id": link.span_id.hex(),
                    "attributes": attributes_dict(link.attributes, limits, "link"),
                }
                for link in span.links
            ]
        )
    )
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if start > _MAX_NS or end > _MAX_NS:
        msg = f"span {span.name!r} has a time past the year 2262 (start {start}, end {end} ns)"
        raise LimitError("invalid_timestamp", msg)
    kind = _KINDS[span.kind] if 0 <= span.kind < len(_KINDS) else "unspecified"
    code = _STATUS[span.status.code] if 0 <= span.status.code < len(_STATUS) else "unset"
    return (
        trace_id, int.from_bytes(span.trace_id[:8], "big", signed=True), span.span_id.hex(),
        span.parent_span_id.hex(), span.name, kind, service, start, end, max(0, end - start),
        code, span.status.message, attrs, events, links, resource_json, scope_json,
    )  # fmt: skip


#: Times are stored as signed 64-bit nanoseconds; OTLP's fixed64 can go past them.
_MAX_NS = 2**63 - 1


def logs_to_columns(
    request: Any, limits: Limits, result: AppendResult, now_ns: int
) -> dict[str, list[Any]]:
    """Columns of the records in an ExportLogsServiceRequest; refusals go to ``result``."""
    names = [n for n in LOG_COLUMNS if n != "seq"]
    rows: list[tuple[Any, ...]] = []
    for rl in request.resource_logs:
        try:
            service, resource_json, _ = _resource(rl.resource, limits)
        except LimitError as exc:
            for sl in rl.scope_logs:
                for _ in sl.log_records:
                    result.reject(exc.reason, str(exc))
            continue
        for sl in rl.scope_logs:
            scope_json = _scope(sl.scope)
            for rec in sl.log_records:
                try:
                    attrs = (
                        _dumps(attributes_dict(rec.attributes, limits, "log record"))
                        if rec.attributes
                        else "{}"
                    )
                    body, body_json = _body(rec, limits)
                except LimitError as exc:
                    result.reject(exc.reason, str(exc))
                    continue
                observed = rec.observed_time_unix_nano or now_ns
                if observed > _MAX_NS or rec.time_unix_nano > _MAX_NS:
                    msg = "log record with a time past the year 2262 (over 2**63-1 ns)"
                    result.reject("invalid_timestamp", msg)
                    continue
                row = (
                    rec.time_unix_nano or observed, observed, service, rec.severity_number,
                    rec.severity_text, level_of(rec.severity_number, rec.severity_text), body,
                    body_json, rec.trace_id.hex(), rec.span_id.hex(), attrs,
                    resource_json, scope_json,
                )  # fmt: skip
                rows.append(row)
    result.accepted += len(rows)
    return _columns(names, rows)


def _body(rec: Any, limits: Limits) -> tuple[str, bool]:
    if not rec.HasField("body"):
        return "", False
    value = any_value(rec.body)
    text = value if isinstance(value, str) else _dumps(value)
    limit = limits.max_attribute_value_length * 8
    if len(text) > limit:
        msg = (
            f"log body of {len(text)} characters is longer than {limit} "
            "(8 x limits.max_attribute_value_length)"
        )
        raise LimitError("body_too_long", msg)
    return text, not isinstance(value, str)
