"""Remote write decoding without a server: protobuf, labels, limits, stale markers (snappy is the
body reader's: tests/server/test_http.py)."""

from __future__ import annotations

import math
import struct

import pytest

from tripod.server.config import Limits
from tripod.server.ingest._prom_remote import (
    MAX_AHEAD_MS,
    LabelCache,
    RemoteWriteError,
    decode_write_request,
)
from tripod.server.ingest._prompb import WriteRequest
from tripod.server.store import STALE_NAN, STALE_NAN_BITS, AppendResult, Sample, is_stale

NOW = 1_700_000_000_000


def _request(*series: tuple[dict[str, str], list[tuple[int, float]]]) -> bytes:
    req = WriteRequest()
    for labels, points in series:
        ts = req.timeseries.add()
        for name, value in labels.items():
            ts.labels.add(name=name, value=value)
        for t, v in points:
            ts.samples.add(timestamp=t, value=v)
    return bytes(req.SerializeToString())


def _decode(raw: bytes, limits: Limits | None = None) -> tuple[list[Sample], AppendResult]:
    decoded = decode_write_request(raw, limits or Limits(), now_ms=NOW)
    return decoded.samples, decoded.refused


def test_samples_labels_and_timestamps_are_decoded() -> None:
    raw = _request(
        ({"__name__": "up", "job": "a", "instance": "h:1"}, [(NOW - 2000, 1.0), (NOW - 1000, 0.0)]),
        ({"__name__": "x_total", "job": "a"}, [(NOW, 42.5)]),
    )
    samples, refused = _decode(raw)
    assert refused.rejected == {}
    assert [(dict(s.labels), s.timestamp_ms, s.value) for s in samples] == [
        ({"__name__": "up", "job": "a", "instance": "h:1"}, NOW - 2000, 1.0),
        ({"__name__": "up", "job": "a", "instance": "h:1"}, NOW - 1000, 0.0),
        ({"__name__": "x_total", "job": "a"}, NOW, 42.5),
    ]


def test_stale_marker_keeps_its_exact_bits() -> None:
    other_nan = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]
    raw = _request(({"__name__": "g"}, [(NOW - 1, other_nan), (NOW, STALE_NAN)]))
    samples, _ = _decode(raw)
    assert math.isnan(samples[0].value)
    assert not is_stale(samples[0].value)
    assert struct.unpack("<Q", struct.pack("<d", samples[1].value))[0] == STALE_NAN_BITS


def test_empty_label_values_are_dropped() -> None:
    samples, refused = _decode(_request(({"__name__": "m", "a": "", "b": "1"}, [(NOW, 1.0)])))
    assert refused.rejected == {}
    assert dict(samples[0].labels) == {"__name__": "m", "b": "1"}


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ({"job": "nameless"}, "invalid_labels"),
        ({"__name__": "1bad"}, "invalid_labels"),
        ({"__name__": "ok", "bad-name": "v"}, "invalid_labels"),
        ({"__name__": "ok", **{f"l{i}": "v" for i in range(70)}}, "too_many_labels"),
        ({"__name__": "ok", "v": "x" * 5000}, "label_value_too_long"),
        ({"__name__": "ok", "n" * 300: "v"}, "label_name_too_long"),
    ],
)
def test_bad_series_are_refused_and_good_ones_kept(labels: dict[str, str], reason: str) -> None:
    raw = _request((labels, [(NOW, 1.0), (NOW + 1, 2.0)]), ({"__name__": "good"}, [(NOW, 3.0)]))
    samples, refused = _decode(raw)
    assert refused.rejected == {reason: 2}
    assert refused.errors
    assert [dict(s.labels) for s in samples] == [{"__name__": "good"}]


def test_duplicate_label_names_are_refused() -> None:
    req = WriteRequest()
    ts = req.timeseries.add()
    ts.labels.add(name="__name__", value="m")
    ts.labels.add(name="a", value="1")
    ts.labels.add(name="a", value="2")
    ts.samples.add(timestamp=NOW, value=1.0)
    samples, refused = _decode(req.SerializeToString())
    assert samples == []
    assert refused.rejected == {"invalid_labels": 1}


def test_label_that_is_not_utf8_refuses_only_its_series() -> None:
    good = _request(({"__name__": "good"}, [(NOW, 1.0)]))
    bad = _request(({"__name__": "bad", "v": "PLACEHOLDER"}, [(NOW, 2.0)])).replace(
        b"PLACEHOLDER", b"\xff\xfe\xfdPLACEHOL"
    )
    samples, refused = _decode(bad + good)  # concatenated messages merge their timeseries
    assert [dict(s.labels) for s in samples] == [{"__name__": "good"}]
    assert refused.rejected == {"invalid_labels": 1}
    assert "UTF-8" in refused.errors[0]


def test_samples_too_far_in_the_future_are_refused() -> None:
    raw = _request(
        ({"__name__": "m"}, [(NOW + MAX_AHEAD_MS - 1, 1.0), (NOW + MAX_AHEAD_MS + 1, 2.0)])
    )
    samples, refused = _decode(raw)
    assert [s.value for s in samples] == [1.0]
    assert refused.rejected == {"too_far_in_future": 1}


def test_metadata_is_returned_with_prometheus_type_names() -> None:
    req = WriteRequest()
    req.metadata.add(type=1, metric_family_name="http_requests_total", help="Requests.", unit="")
    req.metadata.add(type=3, metric_family_name="latency_seconds", help="L.", unit="seconds")
    decoded = decode_write_request(req.SerializeToString(), Limits(), now_ms=NOW)
    assert decoded.metadata == [
        ("http_requests_total", "counter", "Requests.", ""),
        ("latency_seconds", "histogram", "L.", "seconds"),
    ]


def test_native_histograms_are_counted_not_stored() -> None:
    req = WriteRequest()
    ts = req.timeseries.add()
    ts.labels.add(name="__name__", value="h")
    hist = ts.histograms.add(count_int=3, sum=1.5, schema=0, timestamp=NOW)
    hist.positive_spans.add(offset=0, length=1)
    hist.positive_deltas.append(3)
    decoded = decode_write_request(req.SerializeToString(), Limits(), now_ms=NOW)
    assert decoded.samples == []
    assert decoded.refused.rejected == {"native_histogram_unsupported": 1}


def test_truncated_protobuf_is_an_error_naming_the_problem() -> None:
    raw = _request(({"__name__": "m", "job": "j"}, [(NOW, 1.0)]))
    for cut in (len(raw) - 1, len(raw) // 2, 3):
        with pytest.raises(RemoteWriteError, match=r"WriteRequest|label") as info:
            decode_write_request(raw[:cut], Limits(), now_ms=NOW)
        assert info.value.status == 400


def test_garbage_is_not_a_write_request() -> None:
    with pytest.raises(RemoteWriteError, match=r"not a prometheus\.WriteRequest"):
        decode_write_request(b"\xff\xff\xff\xff garbage", Limits(), now_ms=NOW)


def test_label_cache_reuses_decoded_label_sets() -> None:
    cache = LabelCache(Limits(), max_series=2)
    raw = _request(({"__name__": "m", "a": "1"}, [(NOW, 1.0)]))
    first = decode_write_request(raw, Limits(), cache, now_ms=NOW).samples[0].labels
    second = decode_write_request(raw, Limits(), cache, now_ms=NOW).samples[0].labels
    assert first is second
    for i in range(3):  # overflowing the bound empties the memo instead of growing
        decode_write_request(_request(({"__name__": f"m{i}"}, [(NOW, 1.0)])), Limits(), cache)
    assert len(cache._series) <= 2
