"""The compiled span decoder (``_spans_c.c``, used by :meth:`SpanConverter.body_columns`) gives
exactly what the pure-Python paths give: the same columns, the same refusals with the same
messages, and no answer (or protobuf's ``DecodeError``) for any body that protobuf refuses."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from tests.server.ingest.test_otlp_spans_fast import LIMITS, _build, _span, _values
from tripod.server.config import Limits
from tripod.server.ingest import otlp_convert
from tripod.server.ingest.otlp_convert import SpanConverter, spans_to_columns
from tripod.server.store.model import AppendResult

_resources = st.lists(
    st.tuples(
        st.lists(st.tuples(st.sampled_from(["service.name", "x"]), _values), max_size=3),
        st.lists(st.lists(_span, max_size=4), max_size=2),
    ),
    max_size=2,
)


CHECK = "import tripod.server.ingest.otlp_convert as o; print(o._spans_convert, o.SPANS_COMPILED)"


def test_the_extension_is_built_and_used() -> None:
    assert otlp_convert._spans_convert is not None, "not built: run `make setup` (pip install -e .)"
    assert otlp_convert.SPANS_COMPILED
    off = subprocess.run(
        [sys.executable, "-c", CHECK],
        env={"TRIPOD_PURE_PYTHON": "1", "PATH": ""}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert off.stdout.startswith("<built-in function convert>")  # built,
    assert off.stdout.split()[-1] == "False"  # and left unused when asked


def _python(body: bytes, conv: SpanConverter) -> tuple[Any, Any] | None:
    result = AppendResult()
    try:
        cols = conv.columns(conv.parse(body), result)
    except DecodeError:
        return None
    return cols, (result.accepted, result.rejected, result.errors)


def _compiled(body: bytes, conv: SpanConverter) -> tuple[Any, Any] | str | None:
    result = AppendResult()
    try:
        cols = conv.body_columns(body, result, compiled=True)
    except DecodeError:
        return "DecodeError"
    if cols is None:
        return None
    return cols, (result.accepted, result.rejected, result.errors)


@settings(max_examples=60, deadline=None)
@given(_resources)
def test_compiled_path_equals_both_python_paths(resources: Any) -> None:
    body = _build(resources)
    general = AppendResult()
    cols = spans_to_columns(trace_pb.ExportTraceServiceRequest.FromString(body), LIMITS, general)
    expected = (cols, (general.accepted, general.rejected, general.errors))
    conv = SpanConverter(LIMITS, max_memo=7, max_once=3)
    for _ in range(3):  # memo empty, filling, and read
        got = _compiled(body, conv)
        assert got is not None  # a body protobuf wrote is always read by the compiled path
        assert got == expected
        assert _python(body, SpanConverter(LIMITS)) == expected


@settings(max_examples=300, deadline=None)
@given(_resources, st.data())
def test_damaged_bodies_get_the_python_paths_answer(resources: Any, data: Any) -> None:
    """Bytes flipped, cut or inserted anywhere: the compiled path answers as the pure-Python
    path does, declines (None: the caller parses), or raises protobuf's DecodeError where the
    Python path raises it too."""
    body = bytearray(_build(resources))
    for _ in range(data.draw(st.integers(1, 3))):
        if not body:
            break
        at = data.draw(st.integers(0, len(body) - 1))
        how = data.draw(st.sampled_from(["flip", "cut", "insert", "byte"]))
        if how == "flip":
            body[at] ^= 1 << data.draw(st.integers(0, 7))
        elif how == "cut":
            del body[at:]
        elif how == "insert":
            body[at:at] = data.draw(st.binary(min_size=1, max_size=3))
        else:
            body[at] = data.draw(st.sampled_from([0x00, 0x80, 0xFF, 0x0A, 0x12, 0x4A, 0x7A]))
    raw = bytes(body)
    python = _python(raw, SpanConverter(LIMITS))
    compiled = _compiled(raw, SpanConverter(LIMITS))
    if compiled is None:
        return  # declined: the caller takes the Python path
    if compiled == "DecodeError":
        assert python is None
    else:
        assert compiled == python


def _span_bytes(*fields: bytes) -> bytes:
    span = b"\x0a\x10" + b"\x01" * 16 + b"\x12\x08" + b"\x02" * 8 + b"".join(fields)
    scope_spans = b"\x12" + _len(span) + span
    resource_spans = b"\x12" + _len(scope_spans) + scope_spans
    return b"\x0a" + _len(resource_spans) + resource_spans


def _len(b: bytes) -> bytes:
    n, out = len(b), bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


@pytest.mark.parametrize(
    ("fields", "verdict"),
    [
        ((b"\x2a\x02\xed\xa0",), None),  # name: a UTF-16 surrogate in UTF-8 (not text)
        ((b"\x2a\x02\xc0\x80",), None),  # name: an overlong form
        ((b"\x2a\x01n", b"\x2a\x01m"), None),  # name twice
        ((b"\x30\x02", b"\x30\x03"), None),  # kind twice
        ((b"\x35\x00\x00\x00\x00",), None),  # kind with the wrong wire type
        ((b"\x30\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f",), None),  # an 11-byte varint
        ((b"\x7b\x7c",), None),  # a group (wire type 3) in an unknown field
        ((b"\x4a\x08\x0a\x01\xff\x12\x03\x0a\x01v",), "DecodeError"),  # key not UTF-8
        ((b"\x4a\x08\x0a\x01k\x12\x03\x0a\x01\xff",), "DecodeError"),  # value not UTF-8
        ((b"\x4a\x0a\x0a\x03\xed\xa0\x80\x12\x03\x0a\x01v",), "DecodeError"),  # surrogate
        ((b"\x2a\x01n", b"\xa8\x1f\x05"), "columns"),  # an unknown varint field is skipped
        ((b"\x30\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01",), "columns"),  # kind -2: unspecified
    ],
)
def test_hand_written_layouts(fields: tuple[bytes, ...], verdict: str | None) -> None:
    body = _span_bytes(*fields)
    got = _compiled(body, SpanConverter(Limits()))
    if verdict is None:
        assert got is None
    elif verdict == "DecodeError":
        assert got == "DecodeError"
        assert _python(body, SpanConverter(Limits())) is None
    else:
        assert got is not None
        assert got == _python(body, SpanConverter(Limits()))


def test_values_are_escaped_as_json_dumps_does() -> None:
    req = trace_pb.ExportTraceServiceRequest()
    span = (
        req.resource_spans.add()
        .scope_spans.add()
        .spans.add(trace_id=b"\xab" * 16, span_id=b"\xcd" * 8, name="n\u00e9")
    )
    text = 'q"\\\n\r\t\b\f\x00\x1f\x7f é€😀'
    span.attributes.add(key='k"\x01', value={"string_value": text})
    span.attributes.add(key="i", value={"int_value": -(2**63)})
    span.attributes.add(key="b", value={"bool_value": True})
    span.attributes.add(key="f", value={"bool_value": False})
    span.attributes.add(key="d", value={"double_value": 1.5})  # handed to Python
    body = req.SerializeToString()
    got = _compiled(body, SpanConverter(Limits()))
    assert got is not None
    assert got != "DecodeError"
    assert got == _python(body, SpanConverter(Limits()))
    cols = got[0]
    text_json = '"q\\"\\\\\\n\\r\\t\\b\\f\\u0000\\u001f\x7f é€😀"'
    numbers = '"i":-9223372036854775808,"b":true,"f":false,"d":1.5'
    assert cols["attributes"] == ['{"k\\"\\u0001":' + text_json + "," + numbers + "}"]
    assert cols["trace_id"] == ["ab" * 16]
    assert cols["tid"] == [int.from_bytes(b"\xab" * 8, "big", signed=True)]
