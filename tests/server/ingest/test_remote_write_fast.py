"""The remote-write fast path (``_rw_fast``) gives exactly what the general path gives: same
series refs, timestamps, value bits and refusals, for any request; it is taken for
Prometheus-shaped requests and declines the rest."""

from __future__ import annotations

import math
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tripod.server.config import Limits
from tripod.server.ingest._prom_remote import LabelCache, decode_write_request
from tripod.server.ingest._prompb import WriteRequest
from tripod.server.store import STALE_NAN

NOW = 1_700_000_000_000
LIMITS = Limits(max_label_value_length=40)


class Refs:
    """A stand-in for the store's ``ref``: one int per distinct label set."""

    def __init__(self) -> None:
        self.ids: dict[tuple[tuple[str, str], ...], int] = {}

    def __call__(self, labels: dict[str, str]) -> int:
        return self.ids.setdefault(tuple(sorted(labels.items())), len(self.ids))


def _request(series: list[tuple[list[tuple[str, str]], list[tuple[int, float]]]]) -> bytes:
    req = WriteRequest()
    for labels, points in series:
        ts = req.timeseries.add()
        for name, value in labels:
            ts.labels.add(name=name, value=value)
        for t, v in points:
            ts.samples.add(timestamp=t, value=v)
    return bytes(req.SerializeToString())


def _bits(values: list[float]) -> list[int]:
    return [struct.unpack("<Q", struct.pack("<d", v))[0] for v in values]


def _expected(raw: bytes, refs: Refs) -> tuple[list[int], list[int], list[int], dict[str, int]]:
    general = decode_write_request(raw, LIMITS, None, now_ms=NOW)
    keys = [refs(k) for k in general.keys]
    return keys, general.stamps, _bits(general.values), dict(general.refused.rejected)


def _fast(raw: bytes, cache: LabelCache) -> tuple[list[int], list[int], list[int], dict[str, int]]:
    got = decode_write_request(raw, LIMITS, cache, now_ms=NOW)
    return list(got.keys), list(got.stamps), _bits(got.values), dict(got.refused.rejected)


NAMES = st.sampled_from(["__name__", "job", "instance", "a", "1bad", "le"])
VALUES = st.sampled_from(["up", "x_total", "a", "", "bad-name", "é", "v" * 50])
SERIES = st.tuples(
    st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=4),
    st.lists(
        st.tuples(
            st.sampled_from([NOW, NOW - 15_000, NOW + 11 * 60_000, 0, -5, 2**40]),
            st.floats() | st.sampled_from([0.0, -0.0, STALE_NAN, math.nan]),
        ),
        min_size=1,
        max_size=2,
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(SERIES, max_size=6))
def test_fast_path_equals_general_path(series: list[Any]) -> None:
    raw = _request(series)
    refs = Refs()
    expected = _expected(raw, refs)
    cache = LabelCache(LIMITS, refs)
    assert _fast(raw, cache) == expected  # first sight: labels decoded
    assert _fast(raw, cache) == expected  # again: from the memo


def test_prometheus_shape_takes_the_fast_path() -> None:
    series = [
        ([("__name__", "up"), ("job", "a"), ("instance", f"h:{i}")], [(NOW - 5, float(i % 3))])
        for i in range(50)
    ]
    raw = _request(series)
    refs = Refs()
    cache = LabelCache(LIMITS, refs)
    first = _fast(raw, cache)
    assert first == _expected(raw, refs)
    assert len(cache.fast._memo) == 50  # every series went through the fast path
    assert first[0] == list(range(50))


def test_other_shapes_decline_the_fast_path() -> None:
    two_samples = _request([([("__name__", "up")], [(NOW - 2, 1.0), (NOW - 1, 2.0)])])
    refs = Refs()
    cache = LabelCache(LIMITS, refs)
    assert _fast(two_samples, cache) == _expected(two_samples, refs)
    assert cache.fast._memo == {}
    with_exemplar = WriteRequest.FromString(_request([([("__name__", "up")], [(NOW, 1.0)])]))
    with_exemplar.timeseries[0].exemplars.add(value=1.0, timestamp=NOW)
    raw = bytes(with_exemplar.SerializeToString())
    assert _fast(raw, cache) == _expected(raw, refs)
    assert cache.fast._memo == {}
