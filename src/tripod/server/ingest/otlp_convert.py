"""OTLP spans and log records to the span/log stores' columns, with the attribute limits.

An item breaking a limit (too many attributes, an oversized value, a malformed id) is refused
with a counted reason; the rest of the request is kept (OTLP partial success).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

from tripod.server.config import Limits
from tripod.server.store.logs import LOG_COLUMNS, level_of
from tripod.server.store.model import AppendResult
from tripod.server.store.spans import SPAN_COLUMNS

try:  # compiled by the build (hatch_build.py); absent, the pure-Python path does all the work
    from tripod.server.ingest._spans_c import convert as _spans_convert
except ImportError:  # pragma: no cover - depends on the build
    _spans_convert = None  # type: ignore[assignment]
#: ``TRIPOD_PURE_PYTHON=1`` leaves the compiled span decoder unused (to compare, or to rule it out)
SPANS_COMPILED = _spans_convert is not None and os.environ.get("TRIPOD_PURE_PYTHON", "") in (
    "",
    "0",
)

__all__ = ["SpanConverter", "any_value", "attributes_dict", "logs_to_columns", "spans_to_columns"]

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


def _too_many(what: str, count: int, limits: Limits) -> LimitError:
    msg = (
        f"{what} has {count} attributes, more than limits.max_attributes "
        f"{limits.max_attributes}; drop attributes or raise the limit"
    )
    return LimitError("too_many_attributes", msg)


def attributes_dict(kvs: Any, limits: Limits, what: str) -> dict[str, Any]:
    """OTLP KeyValues as a dict, refusing more than ``limits.max_attributes`` or long values."""
    if len(kvs) > limits.max_attributes:
        raise _too_many(what, len(kvs), limits)
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
#: ``_dumps`` of a ``str`` (what that encoder calls for one)
_quote: Callable[[str], str] = json.encoder.encode_basestring


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


def _check_ids(span: Any) -> None:
    if len(span.trace_id) != 16 or len(span.span_id) != 8:
        msg = (
            f"span {span.name!r} has a trace id of {len(span.trace_id)} bytes and a span id of "
            f"{len(span.span_id)} bytes; expected 16 and 8"
        )
        raise LimitError("invalid_id", msg)


def _span_row(
    span: Any,
    limits: Limits,
    service: str,
    resource_json: str,
    scope_json: str,
    *,
    attrs: str | None = None,
    events: Any = None,
    links: Any = None,
) -> tuple[Any, ...]:
    """One span's row; ``attrs``/``events``/``links`` given by the fast path (which reads them
    from raw bytes), else read from ``span``."""
    _check_ids(span)
    trace_id = span.trace_id.hex()
    if attrs is None:
        attrs = (
            _dumps(attributes_dict(span.attributes, limits, "span")) if span.attributes else "{}"
        )
    events = span.events if events is None else events
    links = span.links if links is None else links
    events_json = (  # empty: NULL in the store (read back as [])
        None
        if not events
        else _dumps(
            [
                {
                    "name": ev.name,
                    "time_unix_nano": str(ev.time_unix_nano),
                    "attributes": attributes_dict(ev.attributes, limits, f"event {ev.name!r}"),
                }
                for ev in events
            ]
        )
    )
    links_json = (
        None
        if not links
        else _dumps(
            [
                {
                    "trace_id": link.trace_id.hex(),
                    "span_id": link.span_id.hex(),
                    "attributes": attributes_dict(link.attributes, limits, "link"),
                }
                for link in links
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
        code, span.status.message, attrs, events_json, links_json, resource_json, scope_json,
    )  # fmt: skip


_F = descriptor_pb2.FieldDescriptorProto


def _trace_view_class() -> Any:
    """``ExportTraceServiceRequest`` with the same field numbers and types, except that a span's
    attributes, events and links and the resource and scope stay encoded (``bytes``): the fast
    path decodes each distinct attribute once (:class:`SpanConverter`)."""
    fd = descriptor_pb2.FileDescriptorProto(
        name="tripod/otlp_trace_view.proto", package="tripod_view", syntax="proto3"
    )

    def message(name: str, *fields: tuple[str, int, int, bool, str]) -> None:
        m = fd.message_type.add(name=name)
        for fname, number, ftype, repeated, type_name in fields:
            label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name

    message("Status", ("message", 2, _F.TYPE_STRING, False, ""),
            ("code", 3, _F.TYPE_INT32, False, ""))  # fmt: skip
    message(
        "Span",
        ("trace_id", 1, _F.TYPE_BYTES, False, ""),
        ("span_id", 2, _F.TYPE_BYTES, False, ""),
        ("trace_state", 3, _F.TYPE_STRING, False, ""),
        ("parent_span_id", 4, _F.TYPE_BYTES, False, ""),
        ("flags", 16, _F.TYPE_FIXED32, False, ""),
        ("name", 5, _F.TYPE_STRING, False, ""),
        ("kind", 6, _F.TYPE_INT32, False, ""),
        ("start_time_unix_nano", 7, _F.TYPE_FIXED64, False, ""),
        ("end_time_unix_nano", 8, _F.TYPE_FIXED64, False, ""),
        ("attributes", 9, _F.TYPE_BYTES, True, ""),
        ("dropped_attributes_count", 10, _F.TYPE_UINT32, False, ""),
        ("events", 11, _F.TYPE_BYTES, True, ""),
        ("dropped_events_count", 12, _F.TYPE_UINT32, False, ""),
        ("links", 13, _F.TYPE_BYTES, True, ""),
        ("dropped_links_count", 14, _F.TYPE_UINT32, False, ""),
        ("status", 15, _F.TYPE_MESSAGE, False, ".tripod_view.Status"),
    )
    message("ScopeSpans", ("scope", 1, _F.TYPE_BYTES, False, ""),
            ("spans", 2, _F.TYPE_MESSAGE, True, ".tripod_view.Span"),
            ("schema_url", 3, _F.TYPE_STRING, False, ""))  # fmt: skip
    message("ResourceSpans", ("resource", 1, _F.TYPE_BYTES, False, ""),
            ("scope_spans", 2, _F.TYPE_MESSAGE, True, ".tripod_view.ScopeSpans"),
            ("schema_url", 3, _F.TYPE_STRING, False, ""))  # fmt: skip
    message("ExportTraceServiceRequest",
            ("resource_spans", 1, _F.TYPE_MESSAGE, True, ".tripod_view.ResourceSpans"))  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tripod_view.ExportTraceServiceRequest")
    )


_TraceView: Any = _trace_view_class()

#: A memo entry: (key, '"key":value' JSON text) or (None, reason, message) for a refused value
#: (three items: ``dict()`` of a span's entries raises on it).
_Attr = tuple[Any, ...]


class SpanConverter:
    """Spans of a protobuf ``ExportTraceServiceRequest`` body to the store's columns, decoding
    each distinct attribute (``KeyValue`` bytes) once.

    Exporters repeat most attributes in every span (method, route, host, status code); a
    repeated one costs a dict lookup here instead of a ``KeyValue`` decode, a ``WhichOneof`` and
    a JSON encoding. The answers (columns, refusals and their reasons) are those of
    :func:`spans_to_columns` on the same body; a body that does not decode raises
    ``DecodeError`` (the caller then decodes it the usual way for the error message).
    """

    def __init__(self, limits: Limits, max_memo: int = 100_000, max_once: int = 4096) -> None:
        self.limits = limits
        self.max_memo = max_memo
        self.max_once = max_once
        self._memo: dict[bytes, _Attr] = {}
        self._once: dict[bytes, _Attr] = {}  # decoded once, not in the memo (yet)

    def parse(self, body: bytes) -> Any:
        """The request's view (``DecodeError`` if the body is not a protobuf request)."""
        return _TraceView.FromString(body)

    def body_columns(
        self, body: bytes, result: AppendResult, compiled: bool | None = None
    ) -> dict[str, list[Any]] | None:
        """:meth:`columns` of a body read by the compiled decoder (``_spans_c.c``), which hands
        every span outside the common case (and every resource, scope and unusual attribute)
        back to this class; None when it is not built, turned off, or declines the body's
        layout (the caller then parses it: :meth:`parse`). ``DecodeError`` as :meth:`parse`."""
        if not (SPANS_COMPILED if compiled is None else compiled and _spans_convert is not None):
            return None
        limits = self.limits
        got = _spans_convert(
            body, limits.max_attributes, limits.max_attribute_value_length,
            self._on_resource, self._on_scope, self._on_attr, self._on_span,
        )  # fmt: skip
        if got is None:
            return None
        columns, refused = got
        for reason, message in refused:
            result.reject(reason, message)
        result.accepted += len(columns[0])
        return dict(zip(SPAN_COLUMNS, columns, strict=True))

    def _on_resource(self, raw: bytes) -> tuple[Any, ...]:
        try:
            resource = _in_request(b"\x0a", _field(b"\x0a", raw))
            service, resource_json, _ = _resource(resource.resource_spans[0].resource, self.limits)
        except LimitError as exc:
            return (None, exc.reason, str(exc))
        return (service, resource_json)

    def _on_scope(self, raw: bytes) -> str:
        scope = _in_request(b"\x0a", _field(b"\x12", _field(b"\x0a", raw)))
        return _scope(scope.resource_spans[0].scope_spans[0].scope)

    def _on_attr(self, raw: bytes) -> _Attr:
        entry = self._memo.get(raw)
        return self._decode(raw) if entry is None else entry

    def _on_span(self, raw: bytes, service: str, resource_json: str, scope_json: str) -> Any:
        wrapped = _field(b"\x0a", _field(b"\x12", _field(b"\x12", raw)))
        span = _TraceView.FromString(wrapped).resource_spans[0].scope_spans[0].spans[0]
        try:
            return self._row(span, service, resource_json, scope_json)
        except LimitError as exc:
            return (exc.reason, str(exc))

    def columns(self, view: Any, result: AppendResult) -> dict[str, list[Any]]:
        """Columns of the spans in a parsed view; refusals go to ``result``."""
        rows: list[tuple[Any, ...]] = []
        limits = self.limits
        for rs in view.resource_spans:
            try:
                resource = _in_request(b"\x0a", _field(b"\x0a", rs.resource))
                service, resource_json, _ = _resource(resource.resource_spans[0].resource, limits)
            except LimitError as exc:
                for ss in rs.scope_spans:
                    for _ in ss.spans:
                        result.reject(exc.reason, str(exc))
                continue
            for ss in rs.scope_spans:
                scope = _in_request(b"\x0a", _field(b"\x12", _field(b"\x0a", ss.scope)))
                scope_json = _scope(scope.resource_spans[0].scope_spans[0].scope)
                for span in ss.spans:
                    try:
                        row = self._row(span, service, resource_json, scope_json)
                    except LimitError as exc:
                        result.reject(exc.reason, str(exc))
                        continue
                    rows.append(row)
        result.accepted += len(rows)
        return _columns(SPAN_COLUMNS, rows)

    def _row(self, span: Any, service: str, resource_json: str, scope_json: str) -> tuple[Any, ...]:
        """:func:`_span_row` for a view span: same checks in the same order, each field read
        once (every read of a protobuf field builds a Python object)."""
        tid, sid = span.trace_id, span.span_id
        if len(tid) != 16 or len(sid) != 8:
            _check_ids(span)
        kvs = span.attributes
        attrs = self._attributes(kvs) if kvs else "{}"
        events, links = span.events, span.links
        if events or links:  # rare: the general row builder with decoded events and links
            return _span_row(
                span, self.limits, service, resource_json, scope_json, attrs=attrs,
                events=[_in_span(b"\x5a", b).events[0] for b in events],
                links=[_in_span(b"\x6a", b).links[0] for b in links],
            )  # fmt: skip
        start, end = span.start_time_unix_nano, span.end_time_unix_nano
        if start > _MAX_NS or end > _MAX_NS:
            msg = f"span {span.name!r} has a time past the year 2262 (start {start}, end {end} ns)"
            raise LimitError("invalid_timestamp", msg)
        kind, status = span.kind, span.status
        code = status.code
        return (
            tid.hex(), int.from_bytes(tid[:8], "big", signed=True), sid.hex(),
            span.parent_span_id.hex(), span.name,
            _KINDS[kind] if 0 <= kind < 6 else "unspecified", service, start, end,
            end - start if end > start else 0, _STATUS[code] if 0 <= code < 3 else "unset",
            status.message, attrs, None, None, resource_json, scope_json,
        )  # fmt: skip

    def _attributes(self, kvs: Any) -> str:
        if len(kvs) > self.limits.max_attributes:
            raise _too_many("span", len(kvs), self.limits)
        hits: list[Any] = list(map(self._memo.get, kvs))  # C loops: this runs for every span
        while None in hits:  # typically one new value per span (a path, an id)
            i = hits.index(None)
            hits[i] = self._decode(kvs[i])
        try:
            texts = dict(hits)  # key -> '"key":value'
        except ValueError:  # a refused value's entry has three items
            reason, message = next(hit[1:] for hit in hits if hit[0] is None)
            raise LimitError(reason, message) from None
        if len(texts) != len(hits):  # a repeated key: the last value wins, as in a dict
            decoded = [common_pb2.KeyValue.FromString(b) for b in kvs]
            return _dumps(attributes_dict(decoded, self.limits, "span"))
        return "{" + ",".join(texts.values()) + "}"

    def _decode(self, raw: bytes) -> _Attr:
        """A memo miss. A value enters the memo the second time it is seen (within the last
        ``max_once`` new values): one seen once (a path, an id) would only fill it, and lookups
        in a memo of megabytes miss the CPU cache."""
        entry = self._once.pop(raw, None)
        if entry is not None:
            if len(self._memo) >= self.max_memo:
                self._memo.clear()
            self._memo[raw] = entry
            return entry
        entry = _plain_string_attr(raw, self.limits.max_attribute_value_length)
        if entry is None:
            entry = self._decode_kv(raw)
        if len(self._once) >= self.max_once:
            self._once.clear()
        self._once[raw] = entry
        return entry

    def _decode_kv(self, raw: bytes) -> _Attr:
        kv = common_pb2.KeyValue.FromString(raw)
        if kv.value.WhichOneof("value") in ("array_value", "kvlist_value"):
            kv = _in_span(b"\x4a", raw).attributes[0]  # nesting limit counted as in the request
        try:
            value = attributes_dict([kv], self.limits, "span")[kv.key]
            return (kv.key, _dumps(kv.key) + ":" + _dumps(value))
        except LimitError as exc:
            return (None, exc.reason, str(exc))


def _plain_string_attr(raw: bytes, max_len: int) -> _Attr | None:
    """The memo entry of a ``KeyValue`` laid out as serialisers write a short string value
    (key, then an ``AnyValue`` holding only ``string_value``; at most 129 bytes, so that every
    length is a one-byte varint), read without a protobuf decode; None for any other layout,
    a value over ``max_len`` or text that is not UTF-8 (protobuf then decodes it, and refuses
    what it refuses)."""
    size = len(raw)
    if size < 6 or size > 129 or raw[0] != 0x0A:
        return None
    key_end = 2 + raw[1]
    if key_end + 4 > size or raw[key_end] != 0x12 or raw[key_end + 2] != 0x0A:
        return None
    if raw[key_end + 1] != size - key_end - 2 or raw[key_end + 3] != size - key_end - 4:
        return None
    try:
        key = raw[2:key_end].decode()
        value = raw[key_end + 4 :].decode()
    except UnicodeDecodeError:
        return None
    if len(value) > max_len:
        return None
    return (key, _quote(key) + ":" + _quote(value))


def _field(tag: bytes, payload: bytes) -> bytes:
    """``payload`` as a length-delimited protobuf field with the one-byte ``tag``."""
    size, out = len(payload), bytearray(tag)
    while size >= 0x80:
        out.append(size & 0x7F | 0x80)
        size >>= 7
    out.append(size)
    return bytes(out) + payload


def _in_request(tag: bytes, payload: bytes) -> Any:
    """A request holding ``payload`` (field ``tag`` of the request), decoded by the real class:
    the same checks, nesting limit included, as the part gets inside a whole request."""
    return trace_service_pb2.ExportTraceServiceRequest.FromString(_field(tag, payload))


def _in_span(tag: bytes, raw: bytes) -> Any:
    """A span holding ``raw`` as field ``tag`` (attribute, event or link), decoded at the depth
    it has inside a request (DecodeError as the whole request would give)."""
    wrapped = _field(b"\x0a", _field(b"\x12", _field(b"\x12", _field(tag, raw))))
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(wrapped)
    return request.resource_spans[0].scope_spans[0].spans[0]


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
