"""Prometheus remote-write v1 protobuf messages (``prometheus.WriteRequest`` and friends).

No trustworthy PyPI package ships prompb, so the messages are described here as a
``FileDescriptorProto`` and turned into classes by the protobuf library at import time. Field
numbers follow prometheus/prompb/types.proto and remote.proto (gogoproto options dropped: they
only change Go code generation, not the wire format).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

__all__ = [
    "METRIC_TYPES",
    "BucketSpan",
    "Exemplar",
    "Histogram",
    "Label",
    "MetricMetadata",
    "RawWriteRequest",
    "Sample",
    "TimeSeries",
    "WriteRequest",
]

_F = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED

#: prompb MetricMetadata.MetricType numbers -> the type names /api/v1/metadata uses.
METRIC_TYPES: dict[int, str] = {
    0: "unknown",
    1: "counter",
    2: "gauge",
    3: "histogram",
    4: "gaugehistogram",
    5: "summary",
    6: "info",
    7: "stateset",
}


def _field(
    msg: descriptor_pb2.DescriptorProto,
    name: str,
    number: int,
    type_: int,
    *,
    repeated: bool = False,
    type_name: str = "",
    oneof: int | None = None,
) -> None:
    field = msg.field.add(name=name, number=number, type=type_, label=_REP if repeated else _OPT)
    if type_name:
        field.type_name = type_name
    if oneof is not None:
        field.oneof_index = oneof


def _file() -> descriptor_pb2.FileDescriptorProto:
    fd = descriptor_pb2.FileDescriptorProto(
        name="tripod/prompb_remote.proto", package="prometheus", syntax="proto3"
    )

    m = fd.message_type.add(name="Sample")
    _field(m, "value", 1, _F.TYPE_DOUBLE)
    _field(m, "timestamp", 2, _F.TYPE_INT64)

    m = fd.message_type.add(name="Label")
    _field(m, "name", 1, _F.TYPE_STRING)
    _field(m, "value", 2, _F.TYPE_STRING)

    m = fd.message_type.add(name="Exemplar")
    _field(m, "labels", 1, _F.TYPE_MESSAGE, repeated=True, type_name=".prometheus.Label")
    _field(m, "value", 2, _F.TYPE_DOUBLE)
    _field(m, "timestamp", 3, _F.TYPE_INT64)

    m = fd.message_type.add(name="BucketSpan")
    _field(m, "offset", 1, _F.TYPE_SINT32)
    _field(m, "length", 2, _F.TYPE_UINT32)

    m = fd.message_type.add(name="Histogram")
    m.oneof_decl.add(name="count")
    m.oneof_decl.add(name="zero_count")
    reset = m.enum_type.add(name="ResetHint")
    for number, name in enumerate(("UNKNOWN", "YES", "NO", "GAUGE")):
        reset.value.add(name=name, number=number)
    span = ".prometheus.BucketSpan"
    _field(m, "count_int", 1, _F.TYPE_UINT64, oneof=0)
    _field(m, "count_float", 2, _F.TYPE_DOUBLE, oneof=0)
    _field(m, "sum", 3, _F.TYPE_DOUBLE)
    _field(m, "schema", 4, _F.TYPE_SINT32)
    _field(m, "zero_threshold", 5, _F.TYPE_DOUBLE)
    _field(m, "zero_count_int", 6, _F.TYPE_UINT64, oneof=1)
    _field(m, "zero_count_float", 7, _F.TYPE_DOUBLE, oneof=1)
    _field(m, "negative_spans", 8, _F.TYPE_MESSAGE, repeated=True, type_name=span)
    _field(m, "negative_deltas", 9, _F.TYPE_SINT64, repeated=True)
    _field(m, "negative_counts", 10, _F.TYPE_DOUBLE, repeated=True)
    _field(m, "positive_spans", 11, _F.TYPE_MESSAGE, repeated=True, type_name=span)
    _field(m, "positive_deltas", 12, _F.TYPE_SINT64, repeated=True)
    _field(m, "positive_counts", 13, _F.TYPE_DOUBLE, repeated=True)
    _field(m, "reset_hint", 14, _F.TYPE_ENUM, type_name=".prometheus.Histogram.ResetHint")
    _field(m, "timestamp", 15, _F.TYPE_INT64)

    m = fd.message_type.add(name="TimeSeries")
    _field(m, "labels", 1, _F.TYPE_MESSAGE, repeated=True, type_name=".prometheus.Label")
    _field(m, "samples", 2, _F.TYPE_MESSAGE, repeated=True, type_name=".prometheus.Sample")
    _field(m, "exemplars", 3, _F.TYPE_MESSAGE, repeated=True, type_name=".prometheus.Exemplar")
    _field(m, "histograms", 4, _F.TYPE_MESSAGE, repeated=True, type_name=".prometheus.Histogram")

    m = fd.message_type.add(name="MetricMetadata")
    mtype = m.enum_type.add(name="MetricType")
    for number, name in METRIC_TYPES.items():
        mtype.value.add(name=name.upper(), number=number)
    _field(m, "type", 1, _F.TYPE_ENUM, type_name=".prometheus.MetricMetadata.MetricType")
    _field(m, "metric_family_name", 2, _F.TYPE_STRING)
    _field(m, "help", 4, _F.TYPE_STRING)
    _field(m, "unit", 5, _F.TYPE_STRING)

    for name, series in (("WriteRequest", "TimeSeries"), ("RawWriteRequest", "RawLabelsSeries")):
        m = fd.message_type.add(name=name)
        m.reserved_range.add(start=2, end=3)  # Cortex's "source" field
        _field(
            m, "timeseries", 1, _F.TYPE_MESSAGE, repeated=True, type_name=f".prometheus.{series}"
        )
        meta = ".prometheus.MetricMetadata"
        _field(m, "metadata", 3, _F.TYPE_MESSAGE, repeated=True, type_name=meta)

    # The same wire format as TimeSeries, but each label left as its encoded Label bytes (an
    # embedded message and a bytes field share wire type 2): the receiver memoises decoded label
    # sets by those bytes, because building Python objects per label was the measured bottleneck.
    m = fd.message_type.add(name="RawLabelsSeries")
    _field(m, "labels", 1, _F.TYPE_BYTES, repeated=True)
    _field(m, "samples", 2, _F.TYPE_MESSAGE, repeated=True, type_name=".prometheus.Sample")
    _field(m, "exemplars", 3, _F.TYPE_MESSAGE, repeated=True, type_name=".prometheus.Exemplar")
    _field(m, "histograms", 4, _F.TYPE_MESSAGE, repeated=True, type_name=".prometheus.Histogram")
    return fd


def _classes() -> dict[str, type[Message]]:
    # A private pool: another library registering its own "prometheus.*" names cannot clash.
    pool = descriptor_pool.DescriptorPool()
    proto = _file()
    pool.Add(proto)
    file_desc = pool.FindFileByName(proto.name)
    return {
        name: message_factory.GetMessageClass(desc)
        for name, desc in file_desc.message_types_by_name.items()
    }


_CLASSES = _classes()
# Typed as Any: the classes are built at run time, so static checkers cannot see their fields.
Sample: Any = _CLASSES["Sample"]
Label: Any = _CLASSES["Label"]
Exemplar: Any = _CLASSES["Exemplar"]
BucketSpan: Any = _CLASSES["BucketSpan"]
Histogram: Any = _CLASSES["Histogram"]
TimeSeries: Any = _CLASSES["TimeSeries"]
MetricMetadata: Any = _CLASSES["MetricMetadata"]
WriteRequest: Any = _CLASSES["WriteRequest"]
RawWriteRequest: Any = _CLASSES["RawWriteRequest"]
