"""OTLP/HTTP protobuf request bodies, encoded straight from what the SDK already holds.

:func:`encode_spans` takes tripod's own request spans (:class:`~tripod.sdk._serverspan.ServerSpan`,
plain data) and the SDK's ``ReadableSpan``s (``tripod.span()``, user and library spans) alike,
through their common attributes; :func:`encode_logs` takes the queued log tuples. No protobuf
runtime and no per-record message objects: the bytes are joined from memoised pieces (see
``_wire``). The output decodes as ``ExportTraceServiceRequest`` / ``ExportLogsServiceRequest``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry.trace import SpanKind, StatusCode

from tripod.sdk._otlp._wire import any_value, attributes, field_bytes, fixed64, message, varint

__all__ = ["LogItem", "encode_logs", "encode_spans"]

#: One queued log record: (timestamp ns, observed ns, span context or None, severity number,
#: severity text, body, attributes).
LogItem = tuple[int, int, Any, int, str, str, dict[str, Any]]

_T_START = b"\x39"  # Span.start_time_unix_nano, field 7 fixed64
_T_END = b"\x41"  # Span.end_time_unix_nano, field 8
_T_EVENT = b"\x09"  # Event.time_unix_nano, field 1
_T_LOG = b"\x09"  # LogRecord.time_unix_nano, field 1
_T_OBSERVED = b"\x59"  # LogRecord.observed_time_unix_nano, field 11
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200

_pack_q = struct.Struct("<Q").pack
_KINDS = {kind: bytes((0x30, kind.value + 1)) for kind in SpanKind}  # Span.kind, field 6
_LOCAL_FLAGS = b"\x85\x01" + _HAS_IS_REMOTE.to_bytes(4, "little")  # Span.flags, field 16
_REMOTE_FLAGS = b"\x85\x01" + (_HAS_IS_REMOTE | _IS_REMOTE).to_bytes(4, "little")
_resources: dict[int, tuple[Any, bytes]] = {}
_scopes: dict[int, tuple[Any, bytes]] = {}


def _resource(resource: Any) -> bytes:
    """The ``resource`` field (1) of a ResourceSpans/ResourceLogs, memoised per object."""
    done = _resources.get(id(resource))
    if done is not None and done[0] is resource:
        return done[1]
    attrs = getattr(resource, "attributes", None)
    encoded = message(1, [attributes(1, attrs)])
    if len(_resources) > 64:
        _resources.clear()
    _resources[id(resource)] = (resource, encoded)
    return encoded


def _scope(scope: Any) -> bytes:
    """The ``scope`` field (1) of a ScopeSpans/ScopeLogs, memoised per object."""
    done = _scopes.get(id(scope))
    if done is not None and done[0] is scope:
        return done[1]
    parts: list[bytes] = []
    if scope is not None:
        if scope.name:
            parts.append(field_bytes(1, scope.name.encode()))
        if getattr(scope, "version", None):
            parts.append(field_bytes(2, scope.version.encode()))
        parts.append(attributes(3, getattr(scope, "attributes", None)))
    encoded = message(1, parts)
    if len(_scopes) > 256:
        _scopes.clear()
    _scopes[id(scope)] = (scope, encoded)
    return encoded


def _span(span: Any) -> bytes:
    ctx = span.context
    parent = span.parent
    name = span.name.encode("utf-8", "surrogatepass")
    parts = [
        b"\x0a\x10",
        ctx.trace_id.to_bytes(16, "big"),
        b"\x12\x08",
        ctx.span_id.to_bytes(8, "big"),
    ]
    state = ctx.trace_state
    if state:
        parts.append(field_bytes(3, ",".join(f"{k}={v}" for k, v in state.items()).encode()))
    if parent is not None:
        parts += (b"\x22\x08", parent.span_id.to_bytes(8, "big"))
    parts += (
        b"\x2a",
        varint(len(name)),
        name,
        _KINDS[span.kind],
        _T_START,
        _pack_q(span.start_time or 0),
        _T_END,
        _pack_q(span.end_time or 0),
        attributes(9, span.attributes),
    )
    dropped = getattr(span, "dropped_attributes", 0)
    if dropped:
        parts.append(b"\x50" + varint(dropped))
    for event in span.events:
        ev = [fixed64(_T_EVENT, event.timestamp), field_bytes(2, event.name.encode())]
        ev.append(attributes(3, event.attributes))
        parts.append(message(11, ev))
    for link in span.links:
        lc = link.context
        remote = _HAS_IS_REMOTE | (_IS_REMOTE if lc.is_remote else 0)
        lk = [
            b"\x0a\x10" + lc.trace_id.to_bytes(16, "big"),
            b"\x12\x08" + lc.span_id.to_bytes(8, "big"),
            attributes(4, link.attributes),
            b"\x35" + remote.to_bytes(4, "little"),  # field 6, fixed32
        ]
        parts.append(message(13, lk))
    status = span.status
    if status.status_code is not StatusCode.UNSET or status.description:
        code = status.status_code.value
        st = []
        if status.description:
            st.append(field_bytes(2, status.description.encode()))
        if code:
            st.append(b"\x18" + varint(code))
        parts.append(message(15, st))
    else:
        parts.append(b"\x7a\x00")  # an empty Status, always written, as OpenTelemetry does
    parts.append(_LOCAL_FLAGS if parent is None or not parent.is_remote else _REMOTE_FLAGS)
    body = b"".join(parts)
    return b"\x12" + varint(len(body)) + body


def encode_spans(spans: Iterable[Any]) -> bytes:
    """An ``ExportTraceServiceRequest`` body for ``spans`` (ServerSpans and SDK ReadableSpans),
    grouped by resource and instrumentation scope."""
    groups: dict[int, tuple[Any, dict[int, tuple[Any, list[bytes]]]]] = {}
    for span in spans:
        resource = span.resource
        by_scope = groups.get(id(resource))
        if by_scope is None:
            by_scope = groups[id(resource)] = (resource, {})
        scope = span.instrumentation_scope
        entry = by_scope[1].get(id(scope))
        if entry is None:
            entry = by_scope[1][id(scope)] = (scope, [])
        entry[1].append(_span(span))
    out: list[bytes] = []
    for resource, scopes in groups.values():
        body = [_resource(resource)]
        for scope, encoded in scopes.values():
            body.append(message(2, [_scope(scope), *encoded]))
        out.append(message(1, body))
    return b"".join(out)


def _log(item: LogItem) -> bytes:
    ts, observed, ctx, number, text, body, attrs = item
    parts = [fixed64(_T_LOG, ts), fixed64(_T_OBSERVED, observed)]
    number = getattr(number, "value", number)  # a SeverityNumber, or its int
    if number:
        parts.append(b"\x10" + varint(number))
    if text:
        parts.append(field_bytes(3, text.encode()))
    inner = any_value(body)
    parts.append(b"\x2a" + varint(len(inner)) + inner)
    parts.append(attributes(6, attrs))
    if ctx is not None:
        parts.append(b"\x45" + int(ctx.trace_flags).to_bytes(4, "little"))
        parts.append(b"\x4a\x10" + ctx.trace_id.to_bytes(16, "big"))
        parts.append(b"\x52\x08" + ctx.span_id.to_bytes(8, "big"))
    return message(2, parts)


def encode_logs(items: Sequence[LogItem], resource: Any, scope: Any) -> bytes:
    """An ``ExportLogsServiceRequest`` body: ``items`` under one resource and scope."""
    records = [_log(item) for item in items]
    return message(1, [_resource(resource), message(2, [_scope(scope), *records])])
