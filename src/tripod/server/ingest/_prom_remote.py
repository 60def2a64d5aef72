"""Decode and validate a Prometheus remote-write v1 body into store samples (pure functions).

The HTTP handler (``remote_write.py``) does I/O and answers; everything here is testable without
a server: protobuf decoding, label validation and limits (the body reader in ``server/_http.py``
undoes the snappy compression).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError

from tripod.server.config import Limits
from tripod.server.ingest._prompb import METRIC_TYPES, Label, RawWriteRequest
from tripod.server.ingest._rw_fast import FastSeries, split_request
from tripod.server.store.model import AppendResult, LabelError, Sample

__all__ = [
    "MAX_AHEAD_MS",
    "DecodedWrite",
    "LabelCache",
    "RemoteWriteError",
    "decode_write_request",
]

#: Samples further than this in the future are refused, as Prometheus's receiver does
#: (storage/remote/write_handler.go ``maxAheadTime``).
MAX_AHEAD_MS = 10 * 60 * 1000

#: A snappy body may expand to at most this many times the body-size limit.
DECOMPRESSED_FACTOR = 8

_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


class RemoteWriteError(ValueError):
    """The body cannot be used at all; ``status`` is the HTTP answer (400, 413 or 415)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclasses.dataclass
class DecodedWrite:
    """What a WriteRequest holds after validation, as columns: per sample the series key (the
    label dict, or the store's series ref when the cache resolves to refs), timestamp and value;
    metadata to remember; and what was refused before reaching the store."""

    keys: list[Any]
    stamps: list[int]
    values: list[float]
    metadata: list[tuple[str, str, str, str]]  # (metric, type, help, unit)
    refused: AppendResult
    series: int = 0
    #: (series labels, exemplar labels, value, timestamp ms) of series that were not refused
    exemplars: list[tuple[dict[str, str], dict[str, str], float, int]] = dataclasses.field(
        default_factory=list
    )

    @property
    def samples(self) -> list[Sample]:
        """The samples as store :class:`Sample` objects (keys must be label dicts)."""
        return [
            Sample(k, t, v) for k, t, v in zip(self.keys, self.stamps, self.values, strict=True)
        ]


def _check_labels(labels: dict[str, str], count: int, limits: Limits) -> tuple[str, str] | None:
    """``(reason, message)`` when a series' labels are unusable, else None."""
    if count != len(labels):
        return "invalid_labels", f"duplicate label names in series {labels}"
    name = labels.get("__name__")
    if not name:
        return "invalid_labels", f"series without a metric name (__name__): {labels}"
    if not _METRIC_NAME_RE.match(name):
        return "invalid_labels", f"invalid metric name {name!r}: expected [a-zA-Z_:][a-zA-Z0-9_:]*"
    if len(labels) > limits.max_labels_per_series:
        msg = (
            f"series {name} has {len(labels)} labels, over the limit of "
            f"{limits.max_labels_per_series}; drop labels with relabelling"
        )
        return "too_many_labels", msg
    for key, value in labels.items():
        if len(key) > limits.max_label_name_length:
            msg = (
                f"label name {key[:64]!r}... of {name} is {len(key)} characters, over the "
                f"limit of {limits.max_label_name_length}"
            )
            return "label_name_too_long", msg
        if len(value) > limits.max_label_value_length:
            msg = (
                f"label {key}={value[:64]!r}... of {name} is {len(value)} characters, over the "
                f"limit of {limits.max_label_value_length}"
            )
            return "label_value_too_long", msg
        if key != "__name__" and not _LABEL_NAME_RE.match(key):
            return (
                "invalid_labels",
                f"invalid label name {key!r} in {name}: expected [a-zA-Z_][a-zA-Z0-9_]*",
            )
    return None


class LabelCache:
    """Memo of encoded label sets -> validated label dicts (or the reason they are refused).

    A sender repeats the same series in every request, so decoding and validating each label
    set once, then looking it up by its encoded bytes, is what makes ingest fast. Bounded: the
    memo is emptied when it reaches ``max_series`` entries.
    """

    def __init__(
        self,
        limits: Limits,
        resolve: Callable[[dict[str, str]], Any] | None = None,
        max_series: int = 100_000,
    ) -> None:
        self.limits = limits
        self.resolve = resolve
        self.max_series = max_series
        self._series: dict[tuple[bytes, ...], Any] = {}
        self._pairs: dict[bytes, tuple[str, str]] = {}
        #: label blocks of whole TimeSeries -> the same answers, for the fast path
        self.fast = FastSeries(self.lookup, max_series)

    def lookup(self, encoded: tuple[bytes, ...]) -> Any:
        """The key for ``encoded`` Label messages (label dict, or ``resolve(labels)``), or
        ``(reason, message)`` when the series is refused. Keys are never tuples."""
        hit = self._series.get(encoded)
        if hit is not None:
            return hit
        result = self._decode(encoded)
        if len(self._series) >= self.max_series:
            self._series.clear()
            self._pairs.clear()
        self._series[encoded] = result
        return result

    def _decode(self, encoded: tuple[bytes, ...]) -> Any:
        pairs = self._pairs
        labels: dict[str, str] = {}
        count = 0
        for raw in encoded:
            pair = pairs.get(raw)
            if pair is None:
                try:
                    label = Label.FromString(raw)
                except DecodeError:
                    # The request framed it fine, so this series' label is bad (e.g. not UTF-8).
                    msg = (
                        f"series with an undecodable label {raw[:80]!r}: label names and "
                        "values must be UTF-8"
                    )
                    return "invalid_labels", msg
                pair = pairs[raw] = (label.name, label.value)
            if pair[1]:  # an empty value is the same as no label, as in Prometheus
                labels[pair[0]] = pair[1]
                count += 1
        problem = _check_labels(labels, count, self.limits)
        if problem is not None:
            return problem
        if self.resolve is None:
            return labels
        try:
            return self.resolve(labels)
        except LabelError as exc:  # the store refused the series (a limit of its own)
            return exc.reason, str(exc)


def _exemplars(
    found: Any,
    encoded: tuple[bytes, ...],
    out: list[tuple[dict[str, str], dict[str, str], float, int]],
) -> None:
    """Collect a series' exemplars with the series' labels (decoded again: exemplars are few)."""
    series: dict[str, str] = {}
    for raw in encoded:
        label = Label.FromString(raw)
        if label.value:
            series[label.name] = label.value
    for exemplar in found:
        labels = {label.name: label.value for label in exemplar.labels if label.value}
        out.append((series, labels, exemplar.value, exemplar.timestamp))


def _decode_fast(raw: bytes, cache: LabelCache, max_ts: int) -> DecodedWrite | None:
    """Prometheus-shaped requests (one sample per series, series seen before) without a
    Python object per label or sample; None sends the request down the general path."""
    split = split_request(raw)
    if split is None or split[1]:
        return None
    got = cache.fast.decode(split[0], max_ts)
    if got is None:
        return None
    refs, stamps, values, refused_series = got
    refused = AppendResult()
    for reason, message in refused_series:
        refused.reject(reason, message)
    # Lists, as the general path gives (the handler makes the store's columns of them).
    keys, times, floats = refs.tolist(), stamps.tolist(), values.tolist()
    return DecodedWrite(keys, times, floats, [], refused, series=len(split[0]))


def decode_write_request(
    raw: bytes, limits: Limits, cache: LabelCache | None = None, now_ms: int | None = None
) -> DecodedWrite:
    """Parse a decompressed WriteRequest; all-or-nothing on undecodable bytes.

    Series with invalid labels or over a limit are refused whole (counted by reason); labels
    with an empty value are dropped, as Prometheus treats them as absent. ``cache`` should live
    as long as the server (one per set of limits) so repeated series skip decoding.
    """
    max_ts = (int(time.time() * 1000) if now_ms is None else now_ms) + MAX_AHEAD_MS
    if cache is not None and cache.resolve is not None and cache.limits == limits:
        fast = _decode_fast(raw, cache, max_ts)
        if fast is not None:
            return fast
    try:
        request = RawWriteRequest.FromString(raw)
    except DecodeError as exc:
        msg = f"body is not a prometheus.WriteRequest protobuf ({exc}); is it truncated?"
        raise RemoteWriteError(msg) from None
    if cache is None or cache.limits != limits:
        cache = LabelCache(limits)
    keys: list[Any] = []
    stamps: list[int] = []
    values: list[float] = []
    refused = AppendResult()
    decoded = DecodedWrite(keys, stamps, values, metadata=[], refused=refused)
    add_key, add_stamp, add_value = keys.append, stamps.append, values.append
    lookup = cache.lookup
    n_series = 0
    for series in request.timeseries:
        n_series += 1
        key = lookup(tuple(series.labels))
        if isinstance(key, tuple):
            reason, message = key
            for _ in range(max(len(series.samples), 1)):
                refused.reject(reason, message)
            continue
        for point in series.samples:
            ts = point.timestamp
            if ts > max_ts:
                refused.reject(
                    "too_far_in_future",
                    f"sample at {ts} ms is more than 10 minutes ahead of the server's clock; "
                    "check the sender's clock",
                )
                continue
            add_key(key)
            add_stamp(ts)
            add_value(point.value)
        if series.exemplars:
            _exemplars(series.exemplars, tuple(series.labels), decoded.exemplars)
        if series.histograms:
            for _ in series.histograms:
                refused.reject(
                    "native_histogram_unsupported",
                    "native histogram sample not stored: tripod stores classic (float) series "
                    "only; turn off native histograms in the sender",
                )
    decoded.series = n_series
    for meta in request.metadata:
        type_name = METRIC_TYPES.get(meta.type, "unknown")
        decoded.metadata.append((meta.metric_family_name, type_name, meta.help, meta.unit))
    return decoded
