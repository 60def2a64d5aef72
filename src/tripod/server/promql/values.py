"""The engine's value model: every expression is evaluated at all steps of a query at once.

- :class:`Vector`: an instant vector over ``T`` steps, as an ``(S, T)`` value array plus an
  ``(S, T)`` presence mask (NaN is a legitimate sample value, so absence needs its own mask).
- :class:`Scalar`: a ``(T,)`` array.
- :class:`Matrix`: a range vector (raw samples per series) plus, per step, the window end
  ``eval_ms`` and the window length ``range_ms``; range functions slice windows from it.
- :class:`String`: a string literal.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import numpy.typing as npt

from tripod.server.promql.errors import BadDataError, ExecutionError

__all__ = [
    "METRIC_NAME",
    "Labels",
    "Matrix",
    "Scalar",
    "SeriesSet",
    "String",
    "Value",
    "Vector",
    "as_matrix",
    "as_scalar",
    "as_string",
    "as_vector",
    "drop_name",
    "format_labels",
    "format_value",
    "labels_of",
]

METRIC_NAME = "__name__"

#: A label set: ``(name, value)`` pairs sorted by name; hashable and ordered like Prometheus.
Labels = tuple[tuple[str, str], ...]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def labels_of(mapping: dict[str, str]) -> Labels:
    """Sorted label pairs, without empty values (an empty label is an absent label)."""
    return tuple(sorted((k, v) for k, v in mapping.items() if v != ""))


def drop_name(labels: Labels) -> Labels:
    return tuple(p for p in labels if p[0] != METRIC_NAME)


def format_labels(labels: Labels) -> str:
    """Go's ``labels.Labels.String()``: ``{a="1", b="2"}``."""
    return "{" + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in labels) + "}"


def format_value(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``, which Prometheus uses for sample values."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    if "e" in text or "E" in text:
        return np.format_float_positional(value, trim="-")
    return text[:-2] if text.endswith(".0") else text


@dataclasses.dataclass
class Scalar:
    values: F64  # (T,)


@dataclasses.dataclass
class String:
    value: str


@dataclasses.dataclass
class Vector:
    labels: list[Labels]
    values: F64  # (S, T)
    present: Mask  # (S, T)

    @classmethod
    def empty(cls, steps: int) -> Vector:
        return cls([], np.zeros((0, steps)), np.zeros((0, steps), dtype=bool))

    def select(self, rows: npt.NDArray[np.intp] | list[int]) -> Vector:
        idx = np.asarray(rows, dtype=np.intp)
        return Vector([self.labels[i] for i in idx], self.values[idx], self.present[idx])

    def compact(self) -> Vector:
        """Drop series that are absent at every step."""
        keep = np.flatnonzero(self.present.any(axis=1))
        if len(keep) == len(self.labels):
            return self
        return self.select(keep)

    def merge_same_labels(self) -> Vector:
        """Merge rows with equal labels that never overlap in time; overlapping rows are the
        error Prometheus raises for a vector holding one label set twice at one step."""
        seen: dict[Labels, int] = {}
        dup = False
        for i, lab in enumerate(self.labels):
            if lab in seen:
                dup = True
            else:
                seen[lab] = i
        if not dup:
            return self
        order = list(seen)
        values = np.zeros((len(order), self.values.shape[1]))
        present = np.zeros((len(order), self.values.shape[1]), dtype=bool)
        pos = {lab: j for j, lab in enumerate(order)}
        for i, lab in enumerate(self.labels):
            j = pos[lab]
            if (present[j] & self.present[i]).any():
                msg = "vector cannot contain metrics with the same labelset"
                raise ExecutionError(msg)
            values[j] = np.where(self.present[i], self.values[i], values[j])
            present[j] |= self.present[i]
        return Vector(order, values, present)


Idx = npt.NDArray[np.intp]


#: Up to this many series, :meth:`SeriesSet.search` searches each series' own times (a few numpy
#: calls a series) rather than building composite keys over all of them (a dozen calls).
_SEARCH_EACH = 8


@dataclasses.dataclass
class SeriesSet:
    """Raw samples of many series, concatenated: series ``i`` is ``ts[starts[i]:ends[i]]``.

    One flat array lets window lookups for all series and steps run as a single searchsorted.
    """

    labels: list[Labels]
    ts: I64  # ms, ascending within each series
    vs: F64
    starts: Idx
    ends: Idx

    @classmethod
    def build(cls, labels: list[Labels], ts: list[I64], vs: list[F64]) -> SeriesSet:
        lengths = np.array([len(t) for t in ts], dtype=np.intp)
        ends = np.cumsum(lengths, dtype=np.intp)
        starts = ends - lengths
        flat_ts = np.concatenate(ts) if ts else np.zeros(0, dtype=np.int64)
        flat_vs = np.concatenate(vs) if vs else np.zeros(0)
        return cls(labels, flat_ts.astype(np.int64, copy=False), flat_vs, starts, ends)

    def sorted(self) -> SeriesSet:
        """The same series in label order."""
        order = sorted(range(len(self.labels)), key=self.labels.__getitem__)
        if all(i == j for i, j in enumerate(order)):
            return self
        ordered = np.array(order, dtype=np.intp)
        lengths = (self.ends - self.starts)[ordered]
        ends = np.cumsum(lengths, dtype=np.intp)
        starts = ends - lengths
        # one gather: sample k of the new order is sample k + (old start - new start)
        take = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.intp)
        take += np.repeat(self.starts[ordered] - starts, lengths)
        labels = [self.labels[i] for i in order]
        return SeriesSet(labels, self.ts[take], self.vs[take], starts, ends)

    def keep(self, mask: Mask) -> SeriesSet:
        """Drop the samples where ``mask`` is False (e.g. staleness markers)."""
        before = np.concatenate(([0], np.cumsum(mask, dtype=np.intp)))
        return SeriesSet(
            self.labels, self.ts[mask], self.vs[mask], before[self.starts], before[self.ends]
        )

    def search_pair(self, left: I64, right: I64) -> tuple[Idx, Idx]:
        """``(search(left, "left"), search(right, "right"))``, sharing the composite keys."""
        n_series = len(self.labels)
        if n_series == 0 or len(self.ts) == 0 or n_series <= _SEARCH_EACH:
            return self.search(left, "left"), self.search(right, "right")
        lo = min(int(left.min()), int(right.min()), int(self.ts.min()))
        hi = max(int(left.max()), int(right.max()), int(self.ts.max()))
        width = hi - lo + 2
        if n_series * width >= 2**62:
            return self.search(left, "left"), self.search(right, "right")
        seg = np.repeat(np.arange(n_series, dtype=np.int64), self.ends - self.starts)
        keys = seg * width + (self.ts - lo)
        base = np.arange(n_series, dtype=np.int64)[:, None] * width
        found_lo: Idx = np.searchsorted(keys, base + (left - lo)[None, :], side="left")
        found_hi: Idx = np.searchsorted(keys, base + (right - lo)[None, :], side="right")
        return found_lo, found_hi

    def search(self, targets: I64, side: str) -> Idx:
        """``(S, T)`` global indices: per series, ``searchsorted(series_ts, targets, side)``."""
        n_series = len(self.labels)
        if n_series == 0:
            return np.zeros((0, len(targets)), dtype=np.intp)
        if n_series <= _SEARCH_EACH:
            return self._search_each(targets, side)
        lo = int(min(int(targets.min()), int(self.ts.min()) if len(self.ts) else 0))
        hi = int(max(int(targets.max()), int(self.ts.max()) if len(self.ts) else 0))
        width = hi - lo + 2
        if n_series * width < 2**62:
            seg = np.repeat(np.arange(n_series, dtype=np.int64), self.ends - self.starts)
            keys = seg * width + (self.ts - lo)
            query = np.arange(n_series, dtype=np.int64)[:, None] * width + (targets - lo)[None, :]
            found: Idx = np.searchsorted(keys, query, side=side)  # type: ignore[call-overload]
            return found
        return self._search_each(targets, side)

    def _search_each(self, targets: I64, side: str) -> Idx:
        """:meth:`search` one series at a time."""
        out = np.zeros((len(self.labels), len(targets)), dtype=np.intp)
        bounds = zip(self.starts.tolist(), self.ends.tolist(), strict=True)
        for i, (a, b) in enumerate(bounds):
            out[i] = a + np.searchsorted(self.ts[a:b], targets, side=side)  # type: ignore[call-overload]
        return out


@dataclasses.dataclass
class Matrix:
    """A range vector: raw samples plus, per step, the window end and the window length."""

    series: SeriesSet
    eval_ms: I64  # (T,) window end per step (after @ and offset)
    range_ms: int
    _windows: tuple[Idx, Idx] | None = dataclasses.field(default=None, repr=False)

    def windows(self) -> tuple[Idx, Idx]:
        """``(S, T)`` global ``[lo, hi)`` indices of the samples inside the closed window
        ``[eval - range, eval]`` (Prometheus 2.x includes both ends)."""
        if self._windows is None:
            lo, hi = self.series.search_pair(self.eval_ms - self.range_ms, self.eval_ms)
            self._windows = (lo, hi)
        return self._windows


Value = Scalar | String | Vector | Matrix


def _kind(value: Value) -> str:
    return type(value).__name__.lower()


def as_vector(value: Value) -> Vector:
    """``value`` if it is an instant vector, else the bad_data error an operator raises."""
    if not isinstance(value, Vector):
        msg = f"expected an instant vector, got {_kind(value)}"
        raise BadDataError(msg)
    return value


def as_scalar(value: Value) -> Scalar:
    if not isinstance(value, Scalar):
        msg = f"expected a scalar, got {_kind(value)}"
        raise BadDataError(msg)
    return value


def as_string(value: Value) -> str:
    if not isinstance(value, String):
        msg = "expected a string argument"
        raise BadDataError(msg)
    return value.value


def as_matrix(value: Value) -> Matrix:
    if not isinstance(value, Matrix):
        msg = f"expected a range vector, got {_kind(value)}"
        raise BadDataError(msg)
    return value
