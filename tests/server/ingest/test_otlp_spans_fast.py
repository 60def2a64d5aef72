"""The span fast path (:class:`SpanConverter`, raw attribute bytes + a memo) gives exactly what
the general path (:func:`spans_to_columns` on the decoded request) gives: columns, refusals and
their messages, and refuses the same bodies."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb
from opentelemetry.proto.common.v1 import common_pb2

from tripod.server.config import Limits
from tripod.server.ingest.otlp_convert import SpanConverter, _plain_string_attr, spans_to_columns
from tripod.server.store.model import AppendResult

LIMITS = Limits(max_attributes=6, max_attribute_value_length=12)


def _set(value: Any, kind: str, v: Any) -> None:
    if kind == "s":
        value.string_value = v
    elif kind == "i":
        value.int_value = v
    elif kind == "d":
        value.double_value = v
    elif kind == "b":
        value.bool_value = v
    elif kind == "y":
        value.bytes_value = v
    elif kind == "a":
        for item in v:
            value.array_value.values.add().string_value = item
    elif kind == "k":
        for key, item in v:
            kv = value.kvlist_value.values.add()
            kv.key, kv.value.int_value = key, item
    # "n": no value at all


_values = st.one_of(
    st.tuples(st.just("s"), st.text(max_size=16)),
    st.tuples(st.just("i"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("d"), st.floats(allow_nan=False)),
    st.tuples(st.just("b"), st.booleans()),
    st.tuples(st.just("y"), st.binary(max_size=10)),
    st.tuples(st.just("a"), st.lists(st.text(max_size=3), max_size=3)),
    st.tuples(st.just("k"), st.lists(st.tuples(st.sampled_from("xy"), st.integers(0, 9)))),
    st.tuples(st.just("n"), st.none()),
)
_attrs = st.lists(st.tuples(st.sampled_from(["a", "b", "http.route", "é", 'q"k']), _values),
                  max_size=8)  # fmt: skip
_span = st.fixed_dictionaries(
    {
        "attrs": _attrs,
        "tid": st.sampled_from([16, 16, 16, 15]),
        "sid": st.sampled_from([8, 8, 8, 0]),
        "start": st.sampled_from([1, 1_700_000_000_000_000_000, 2**64 - 1]),
        "kind": st.integers(0, 7),
        "code": st.integers(0, 3),
        "events": st.lists(_attrs, max_size=2),
        "links": st.lists(_attrs, max_size=1),
        "name": st.text(max_size=8),
    }
)


def _build(resources: list[tuple[list[Any], list[list[dict[str, Any]]]]]) -> bytes:
    req = trace_pb.ExportTraceServiceRequest()
    for r_attrs, scopes in resources:
        rs = req.resource_spans.add()
        for key, (kind, v) in r_attrs:
            kv = rs.resource.attributes.add()
            kv.key = key
            _set(kv.value, kind, v)
        for n, spans in enumerate(scopes):
            ss = rs.scope_spans.add()
            ss.scope.name, ss.scope.version = f"scope{n}", "1"
            for i, d in enumerate(spans):
                span = ss.spans.add()
                span.trace_id = bytes([i + 1]) * d["tid"]
                span.span_id = bytes([i + 2]) * d["sid"]
                span.parent_span_id = b"\x07" * 8 if i else b""
                span.name, span.kind = d["name"], d["kind"]
                span.start_time_unix_nano = d["start"]
                span.end_time_unix_nano = min(d["start"] + 5, 2**64 - 1)
                span.status.code, span.status.message = d["code"], "m"
                for key, (kind, v) in d["attrs"]:
                    kv = span.attributes.add()
                    kv.key = key
                    _set(kv.value, kind, v)
                for e_attrs in d["events"]:
                    ev = span.events.add(name="ev", time_unix_nano=3)
                    for key, (kind, v) in e_attrs:
                        kv = ev.attributes.add(key=key)
                        _set(kv.value, kind, v)
                for l_attrs in d["links"]:
                    link = span.links.add(trace_id=b"\x05" * 16, span_id=b"\x06" * 8)
                    for key, (kind, v) in l_attrs:
                        kv = link.attributes.add(key=key)
                        _set(kv.value, kind, v)
    return req.SerializeToString()


def _both(body: bytes, conv: SpanConverter) -> tuple[Any, Any]:
    general = AppendResult()
    cols = spans_to_columns(trace_pb.ExportTraceServiceRequest.FromString(body), LIMITS, general)
    fast = AppendResult()
    fast_cols = conv.columns(conv.parse(body), fast)
    return (cols, general), (fast_cols, fast)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.tuples(st.sampled_from(["service.name", "x"]), _values), max_size=3),
            st.lists(st.lists(_span, max_size=4), max_size=2),
        ),
        max_size=2,
    )
)
def test_fast_path_equals_general_path(resources: Any) -> None:
    body = _build(resources)
    conv = SpanConverter(LIMITS, max_memo=7, max_once=3)  # small: both are emptied on the way
    for _ in range(3):  # the second pass puts values into the memo, the third reads them there
        general, fast = _both(body, conv)
        assert fast == general


def test_a_value_enters_the_memo_when_seen_a_second_time() -> None:
    kv = common_pb2.KeyValue(key="url.path", value=common_pb2.AnyValue(string_value="/a"))
    other = common_pb2.KeyValue(key="url.path", value=common_pb2.AnyValue(string_value="/b"))
    raw, raw_other = kv.SerializeToString(), other.SerializeToString()
    conv = SpanConverter(Limits(), max_once=2)
    assert conv._attributes([raw]) == '{"url.path":"/a"}'
    assert raw not in conv._memo  # seen once: a path or an id would only fill the memo
    assert conv._attributes([raw, raw_other]) == '{"url.path":"/b"}'  # the last value wins
    assert raw in conv._memo
    assert raw_other not in conv._memo
    assert conv._attributes([raw]) == '{"url.path":"/a"}'  # from the memo


def test_repeated_key_keeps_the_last_value_like_the_general_path() -> None:
    spans = [{"attrs": [("a", ("i", 1)), ("b", ("s", "x")), ("a", ("i", 2))], "tid": 16,
              "sid": 8, "start": 1, "kind": 2, "code": 0, "events": [], "links": [],
              "name": "n"}]  # fmt: skip
    body = _build([([("service.name", ("s", "svc"))], [spans])])
    general, fast = _both(body, SpanConverter(LIMITS))
    assert fast == general
    assert fast[0]["attributes"] == ['{"a":2,"b":"x"}']


def test_limits_refuse_the_same_spans_with_the_same_reasons() -> None:
    base = {"tid": 16, "sid": 8, "start": 1, "kind": 2, "code": 0, "events": [], "links": [],
            "name": "n"}  # fmt: skip
    spans = [
        {**base, "attrs": [("a", ("s", "x" * 13))]},  # too long
        {**base, "attrs": [("a", ("s", "ok"))] * 7},  # too many
        {**base, "attrs": [("a", ("s", "ok"))], "tid": 15},  # bad id
        {**base, "attrs": [("a", ("s", "x" * 13))]},  # too long again, from the memo
        {**base, "attrs": [("a", ("s", "ok"))]},
    ]
    conv = SpanConverter(LIMITS)
    general, fast = _both(_build([([], [spans])]), conv)
    assert fast == general
    assert fast[1].accepted == 1
    assert fast[1].rejected == {"attribute_value_too_long": 2, "too_many_attributes": 1,
                                "invalid_id": 1}  # fmt: skip


def test_an_attribute_that_does_not_decode_raises_even_after_good_ones() -> None:
    good = common_pb2.KeyValue(key="k", value=common_pb2.AnyValue(string_value="v"))
    bad_kv = b"\x0a\x02\xff\xfe"  # key: invalid UTF-8
    span = b"\x0a\x10" + b"\x01" * 16 + b"\x12\x08" + b"\x02" * 8
    span += b"\x4a" + bytes([len(good.SerializeToString())]) + good.SerializeToString()
    span += b"\x4a" + bytes([len(bad_kv)]) + bad_kv
    scope_spans = b"\x12" + bytes([len(span)]) + span
    resource_spans = b"\x12" + bytes([len(scope_spans)]) + scope_spans
    body = b"\x0a" + bytes([len(resource_spans)]) + resource_spans
    with pytest.raises(DecodeError):
        trace_pb.ExportTraceServiceRequest.FromString(body)
    conv = SpanConverter(LIMITS)
    with pytest.raises(DecodeError):
        conv.columns(conv.parse(body), AppendResult())


@pytest.mark.parametrize("where", ["span", "event", "link", "resource", "scope"])
def test_nesting_limit_is_counted_as_inside_the_whole_request(where: str) -> None:
    """An attribute nested just under protobuf's depth limit when decoded alone, but over it
    inside a request, is refused by both paths (they decode nothing the general path refuses)."""
    verdicts = set()
    for depth in range(40, 49):  # deeper values cannot be built through the message API
        value = common_pb2.AnyValue(string_value="x")
        for _ in range(depth):
            outer = common_pb2.AnyValue()
            outer.array_value.values.append(value)
            value = outer
        req = trace_pb.ExportTraceServiceRequest()
        rs = req.resource_spans.add()
        ss = rs.scope_spans.add()
        span = ss.spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
        holder = {
            "span": span.attributes,
            "event": span.events.add(name="e").attributes,
            "link": span.links.add(trace_id=b"\x03" * 16, span_id=b"\x04" * 8).attributes,
            "resource": rs.resource.attributes,
            "scope": ss.scope.attributes,
        }[where]
        holder.add(key="k", value=value)
        body = req.SerializeToString()
        try:
            trace_pb.ExportTraceServiceRequest.FromString(body)
        except DecodeError:
            conv = SpanConverter(Limits(max_attribute_value_length=10**6))
            with pytest.raises(DecodeError):
                conv.columns(conv.parse(body), AppendResult())
            verdicts.add("refused")
            continue
        verdicts.add("accepted")
        assert _both(body, SpanConverter(Limits(max_attribute_value_length=10**6)))
    if where in ("span", "event", "link"):
        assert verdicts == {"accepted", "refused"}  # the range straddles the limit


def _kv_bytes(key: bytes, value: bytes) -> bytes:
    """A ``KeyValue`` holding a ``string_value``, written by hand (any bytes, any lengths)."""
    any_value = b"\x0a" + _varint(len(value)) + value
    return b"\x0a" + _varint(len(key)) + key + b"\x12" + _varint(len(any_value)) + any_value


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _same_entry_as_protobuf(raw: bytes, limits: Limits) -> None:
    """The entry read without protobuf, if any, is the one protobuf's decode gives."""
    conv = SpanConverter(limits)
    entry = _plain_string_attr(raw, limits.max_attribute_value_length)
    if entry is None:
        return
    assert entry == conv._decode_kv(raw)  # raises DecodeError if protobuf refuses the bytes


_texts = st.one_of(
    st.text(max_size=70),
    st.binary(max_size=70),  # often not UTF-8
    st.sampled_from(
        ["", 'q"k', "a\\b", "\x00\x1f\x7f", "é€😀", "\ud800".encode("utf-8", "surrogatepass")]
    ),
)


@settings(max_examples=400, deadline=None)
@given(_texts, _texts, st.integers(0, 3), st.binary(max_size=3))
def test_string_attributes_read_without_protobuf_equal_protobufs_decode(
    key: str | bytes, value: str | bytes, cut: int, tail: bytes
) -> None:
    k = key.encode() if isinstance(key, str) else key
    v = value.encode() if isinstance(value, str) else value
    raw = _kv_bytes(k, v)
    if isinstance(key, str) and isinstance(value, str) and len(raw) <= 129 and len(value) <= 12:
        assert _plain_string_attr(raw, 12) is not None  # the layout it is there for
    for limits in (LIMITS, Limits()):  # 12 characters, and the default 8192
        _same_entry_as_protobuf(raw, limits)
        _same_entry_as_protobuf(raw[: len(raw) - cut], limits)  # truncated
        _same_entry_as_protobuf(raw + tail, limits)  # trailing bytes (another field, or junk)


def test_string_attributes_at_the_size_bound_and_other_layouts() -> None:
    limits = Limits()
    # total sizes 128-131: the last one-byte-length layouts and the first two-byte ones
    for key_len in (0, 1, 50, 125, 126, 127):
        for value_len in range(0, 130):
            raw = _kv_bytes(b"k" * key_len, b"v" * value_len)
            _same_entry_as_protobuf(raw, limits)
    canonical = common_pb2.KeyValue(key="k", value=common_pb2.AnyValue(string_value="v"))
    others = [
        b"\x12\x03\x0a\x01v\x0a\x01k",  # value before key
        b"\x0a\x01k\x12\x04\x0a\x81\x00v",  # a two-byte (non-minimal) length
        b"\x0a\x01k\x12\x00",  # an AnyValue holding nothing
        b"\x0a\x01k\x12\x02\x18\x05",  # an int
        canonical.SerializeToString() + b"\x0a\x01j",  # the key twice: the last wins
    ]
    for raw in others:
        assert _plain_string_attr(raw, 100) is None
        SpanConverter(limits)._decode_kv(raw)  # protobuf reads it
    assert _plain_string_attr(canonical.SerializeToString(), 100) == ("k", '"k":"v"')
    assert _plain_string_attr(_kv_bytes(b"k", "v\u00e9".encode()), 1) is None  # too long: 2 > 1
