"""The fast path of remote-write decoding, for requests shaped as Prometheus sends them.

A sender repeats the same series in every request, each ``TimeSeries`` being its encoded labels
followed by its samples. This path never builds a Python object per label or per sample:

1. protobuf (C) splits the ``WriteRequest`` into the raw bytes of each ``TimeSeries``;
2. each series' label block (its bytes before the trailing sample) keys a memo of store refs,
   so a series seen before costs one slice and one dict lookup;
3. the trailing samples of all series are checked and decoded together in numpy.

It applies when every series ends with exactly one sample whose timestamp is a 6-byte varint
(every millisecond time between 1971 and 2109) and carries no exemplar or histogram; any other
request (or any series the memo has not seen and that is not a plain run of labels) returns
``None`` and takes the general path, which gives the same answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

__all__ = ["FastSeries", "split_request"]

_F = descriptor_pb2.FieldDescriptorProto

# One trailing sample: 0x12 len (0x09 <8-byte double>)? 0x10 <6-byte varint timestamp>.
_FULL = 18  # with a value
_ZERO = 9  # value 0.0 (proto3 omits the field)
_SHIFTS = np.array([0, 7, 14, 21, 28, 35], dtype=np.int64)


def _split_class() -> Any:
    fd = descriptor_pb2.FileDescriptorProto(
        name="tripod/prompb_split.proto", package="tripod_split", syntax="proto3"
    )
    m = fd.message_type.add(name="SplitWriteRequest")
    m.field.add(name="timeseries", number=1, type=_F.TYPE_BYTES, label=_F.LABEL_REPEATED)
    m.field.add(name="metadata", number=3, type=_F.TYPE_BYTES, label=_F.LABEL_REPEATED)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    desc = pool.FindMessageTypeByName("tripod_split.SplitWriteRequest")
    return message_factory.GetMessageClass(desc)


_SplitWriteRequest: Any = _split_class()

#: (store refs, timestamps, values, (reason, message) of each refused series)
Decoded = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], list[Any]]


def split_request(raw: bytes) -> tuple[list[bytes], int] | None:
    """The raw ``TimeSeries`` messages of a WriteRequest and how many metadata entries it has;
    ``None`` when the bytes do not frame as one (the general path then reports why)."""
    try:
        request = _SplitWriteRequest.FromString(raw)
    except DecodeError:
        return None
    return list(request.timeseries), len(request.metadata)


def label_fields(block: bytes) -> list[bytes] | None:
    """The Label messages of ``block`` when it is nothing but ``labels`` fields (tag 0x0a, each
    with a length that fits), else None."""
    out: list[bytes] = []
    i, n = 0, len(block)
    while i < n:
        if block[i] != 0x0A:
            return None
        i += 1
        size = shift = 0
        while True:
            if i >= n or shift > 28:
                return None
            byte = block[i]
            i += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        if i + size > n:
            return None
        out.append(block[i : i + size])
        i += size
    return out


class FastSeries:
    """Memo of label blocks -> store ref (``int``) or ``(reason, message)`` when refused.

    ``resolve`` turns the Label messages of a new block into one of those (the general path's
    label cache does it, so validation and limits are the same). Bounded like that cache.
    """

    def __init__(
        self, resolve: Callable[[tuple[bytes, ...]], Any], max_series: int = 100_000
    ) -> None:
        self.resolve = resolve
        self.max_series = max_series
        self._memo: dict[bytes, Any] = {}

    def decode(self, series: list[bytes], max_ts: int) -> Decoded | None:
        """``(refs, timestamps, values, refused)`` for one-sample series, ``refused`` holding the
        ``(reason, message)`` of each refused series; None when the request is not in the
        shape this path handles."""
        if not series or min(map(len, series)) < _FULL + 2:
            return None
        tails = np.frombuffer(b"".join([s[-_FULL:] for s in series]), dtype=np.uint8)
        tails = tails.reshape(len(series), _FULL)
        stamp_ok = ((tails[:, 12:17] & 0x80) == 0x80).all(axis=1) & (tails[:, 17] < 0x80)
        full = (
            (tails[:, 0] == 0x12) & (tails[:, 1] == 16) & (tails[:, 2] == 0x09)
            & (tails[:, 11] == 0x10)
        )  # fmt: skip
        zero = ~full & (tails[:, 9] == 0x12) & (tails[:, 10] == 7) & (tails[:, 11] == 0x10)
        if not bool((stamp_ok & (full | zero)).all()):
            return None
        stamps = ((tails[:, 12:18].astype(np.int64) & 0x7F) << _SHIFTS).sum(axis=1)
        if int(stamps.max()) > max_ts:
            return None  # the general path words the refusal
        values = np.where(full, np.ascontiguousarray(tails[:, 3:11]).view(np.float64)[:, 0], 0.0)
        if bool(full.all()):
            keys = [s[:-_FULL] for s in series]
        else:
            cut = np.where(full, _FULL, _ZERO).tolist()
            keys = [s[: len(s) - c] for s, c in zip(series, cut, strict=True)]
        memo = self._memo
        hits = [memo.get(k) for k in keys]
        if None in hits:
            for i in [i for i, hit in enumerate(hits) if hit is None]:
                labels = label_fields(keys[i])
                if labels is None:
                    return None  # not a plain label block: let the general path decide
                if len(memo) >= self.max_series:
                    memo.clear()
                hits[i] = memo[keys[i]] = self.resolve(tuple(labels))
        try:
            refs = np.array(hits, dtype=np.int64)
            refused: list[Any] = []
        except (TypeError, ValueError):  # some series are refused: (reason, message) tuples
            good = np.array([not isinstance(h, tuple) for h in hits], dtype=np.bool_)
            refused = [h for h in hits if isinstance(h, tuple)]
            refs = np.array([h for h in hits if not isinstance(h, tuple)], dtype=np.int64)
            stamps, values = stamps[good], values[good]
        return refs, stamps, values, refused
