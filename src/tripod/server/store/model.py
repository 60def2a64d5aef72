"""The one typed contract between the stores and everything that reads or writes them.

Ingest (OTLP, remote write, import, scrape) writes through :class:`SampleWriter`,
:class:`SpanStore` and :class:`LogStore`; the PromQL engine, the Prometheus API and the trace/log
search read through :class:`SampleReader` and the same span/log stores. The fast paths (series
refs with columnar appends, flat selections) are named parts of the contract, so callers use
them directly instead of probing for them. Like Prometheus's ``storage/interface.go``, this module
imports nothing of the server: the stores implement it, everything else depends on it.
"""

from __future__ import annotations

import dataclasses
import math
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any, Literal, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "STALE_NAN",
    "STALE_NAN_BITS",
    "AppendResult",
    "Exemplar",
    "ExemplarSeries",
    "ExemplarStore",
    "FlatSelection",
    "LabelError",
    "LogQuery",
    "LogStore",
    "MatchOp",
    "Matcher",
    "Sample",
    "SampleReader",
    "SampleStore",
    "SampleWriter",
    "SeriesData",
    "SpanStore",
    "TraceQuery",
    "is_stale",
]

#: Prometheus's staleness marker: a NaN with this exact bit pattern (prometheus/model/value).
STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


def is_stale(value: float) -> bool:
    """True when ``value`` carries the staleness marker's bit pattern (not any NaN)."""
    return math.isnan(value) and struct.pack("<d", value) == struct.pack("<Q", STALE_NAN_BITS)


MatchOp = Literal["=", "!=", "=~", "!~"]


@dataclasses.dataclass(frozen=True)
class Matcher:
    """A label matcher with Prometheus semantics: regexes are fully anchored, and a missing
    label matches as the empty string."""

    name: str
    op: MatchOp
    value: str

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile(f"(?:{self.value})\\Z", re.DOTALL)

    def matches(self, label_value: str) -> bool:
        if self.op == "=":
            return label_value == self.value
        if self.op == "!=":
            return label_value != self.value
        hit = self._regex.match(label_value) is not None
        return hit if self.op == "=~" else not hit


@dataclasses.dataclass(frozen=True)
class Sample:
    """One sample to append. ``labels`` includes ``__name__``."""

    labels: Mapping[str, str]
    timestamp_ms: int
    value: float


@dataclasses.dataclass
class AppendResult:
    """What an append kept and what it refused, by Prometheus-style reason."""

    accepted: int = 0
    rejected: dict[str, int] = dataclasses.field(default_factory=dict)
    errors: list[str] = dataclasses.field(default_factory=list)  # first few, for the response

    def reject(self, reason: str, message: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        if len(self.errors) < 10:
            self.errors.append(message)


@dataclasses.dataclass
class SeriesData:
    """One series' samples in a time range, ordered by timestamp.

    ``values`` keeps staleness markers as :data:`STALE_NAN` (test with :func:`is_stale` or by
    comparing ``values.view(np.uint64) == STALE_NAN_BITS``).
    """

    labels: dict[str, str]
    timestamps: npt.NDArray[np.int64]  # milliseconds since the epoch
    values: npt.NDArray[np.float64]


class LabelError(ValueError):
    """A label set the store refuses; ``reason`` is the counted rejection reason
    (``invalid_label_name``, ``too_many_series``, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


#: ``(labels, ts, values, starts, ends)``: series ``i`` has labels ``labels[i]`` and samples
#: ``ts[starts[i]:ends[i]]`` / ``values[starts[i]:ends[i]]`` (see :meth:`SampleReader.select_flat`).
FlatSelection: TypeAlias = tuple[
    list[dict[str, str]], np.ndarray, np.ndarray, np.ndarray, np.ndarray
]


class SampleReader(Protocol):
    """The read side of the sample store (Prometheus's ``Querier``): what the PromQL engine and
    the Prometheus HTTP API need. Safe to call from several threads."""

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        """Series matching every matcher with their samples in ``[start_ms, end_ms]``."""
        ...

    def select_flat(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> FlatSelection:
        """:meth:`select` without a Python object per series, for wide selections:
        ``(labels, ts, values, starts, ends)`` (a :data:`FlatSelection`), series ``i`` being
        ``ts[starts[i]:ends[i]]``, series ordered as :meth:`select` orders them. ``ts`` is
        int64 ms, ``values`` float64 with staleness markers kept; ``starts``/``ends`` int64.
        The label dicts may be the store's own: read them, never mutate them."""
        ...

    def series(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        """Label sets of series matching any of the sets, with a sample in the range."""
        ...

    def label_names(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        """Sorted label names of the series :meth:`series` would return."""
        ...

    def label_values(
        self, name: str, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        """Sorted values of label ``name`` among the series :meth:`series` would return."""
        ...

    def metadata(self) -> dict[str, list[dict[str, str]]]:
        """``{metric: [{"type", "help", "unit"}]}`` as /api/v1/metadata answers."""
        ...


class SampleWriter(Protocol):
    """The write side of the sample store (Prometheus's ``Appender``): what ingest and rule
    evaluation need. Safe to call from several threads."""

    def append(self, samples: Iterable[Sample]) -> AppendResult:
        """Durably store ``samples`` before returning (what is acknowledged survives kill -9).

        Per series, a sample older than the newest stored one is rejected as ``out_of_order``;
        the same timestamp with another value as ``duplicate_timestamp``; an identical
        duplicate is accepted silently, as Prometheus does.
        """
        ...

    def append_many(self, batches: Sequence[Iterable[Sample]]) -> list[AppendResult]:
        """Several appends in one transaction: batch ``k``'s samples are checked and counted
        exactly as ``append(batches[k])`` made after the earlier batches would, into result
        ``k``, so a refused sample fails only its batch (the rules' one write per group)."""
        ...

    def ref(self, labels: Mapping[str, str]) -> int:
        """The series ref for ``labels`` (labels with an empty value are dropped), creating the
        series if needed; stable for the life of the store, so callers may cache it.

        Raises :class:`LabelError` when the label set breaks a naming rule or a limit.
        """
        ...

    def append_refs(
        self,
        sids: npt.NDArray[np.int64],
        stamps: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
        result: AppendResult | None = None,
    ) -> AppendResult:
        """:meth:`append` as columns of series refs (from :meth:`ref`), timestamps and values,
        counting into ``result`` when given: the fast path of scrape, import and remote write."""
        ...

    def set_metadata(self, metric: str, type_: str, help_: str, unit: str = "") -> None:
        """Remember a metric family's type/help/unit (from exposition, OTLP or remote write)."""
        ...


class SampleStore(SampleReader, SampleWriter, Protocol):
    """The whole sample store: reads, writes, and the upkeep retention asks of it."""

    def refresh_bounds(self) -> None:
        """Re-read each series' time bounds after rows were deleted under the store
        (retention), so selections skip series with no samples left."""
        ...


@dataclasses.dataclass(frozen=True)
class TraceQuery:
    """Filters of a trace search; times in ns since the epoch, durations in ns."""

    start_ns: int
    end_ns: int
    service: str | None = None
    operation: str | None = None
    status: str | None = None
    min_duration_ns: int | None = None
    max_duration_ns: int | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    limit: int = 20
    cursor: str | None = None


@dataclasses.dataclass(frozen=True)
class LogQuery:
    """Filters of a log search; times in ns since the epoch."""

    start_ns: int
    end_ns: int
    service: str | None = None
    levels: tuple[str, ...] = ()
    contains: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    trace_id: str | None = None
    limit: int = 100
    cursor: str | None = None
    span_id: str | None = None
    #: only records that had arrived by this tail cursor (:meth:`LogStore.tail_cursor`)
    tail: str | None = None


class SpanStore(Protocol):
    """Spans: appended as columns, read back as OTLP-shaped JSON dicts."""

    def append(self, columns: dict[str, list[Any]]) -> int:
        """Store a batch given as columns (the store's ``SPAN_COLUMNS``); committed on return."""
        ...

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        """Every span of ``trace_id`` (32 hex digits) ordered by start time."""
        ...

    def search(self, q: TraceQuery) -> tuple[list[dict[str, Any]], str | None]:
        """Summaries of matching traces, newest first, and the cursor of the next page."""
        ...

    def trace_columns(
        self, trace_id: str, max_spans: int, with_attributes: bool = False
    ) -> dict[str, list[Any]]:
        """The spans of ``trace_id`` as columns (``span_id``, ``parent_span_id``, ``name``,
        ``kind``, ``service``, ``start_ns``, ``duration_ns``, ``status_code``,
        ``status_message``, ``event_count``; with ``with_attributes`` also ``attributes`` and
        ``events`` as JSON text), in :meth:`trace`'s order, at most ``max_spans`` rows."""
        ...

    def span(self, trace_id: str, span_id: str) -> dict[str, Any] | None:
        """One span as :meth:`trace` gives it, or None."""
        ...

    def services(self, start_ns: int, end_ns: int, limit: int) -> list[str]:
        """Service names of spans started in the range, sorted, at most ``limit``."""
        ...

    def operations(self, service: str | None, start_ns: int, end_ns: int, limit: int) -> list[str]:
        """Span names (of ``service``, or all) started in the range, sorted, at most ``limit``."""
        ...


class LogStore(Protocol):
    """Log records: appended as columns, searched newest first."""

    def append(self, columns: dict[str, list[Any]]) -> int:
        """Store a batch given as columns (the store's ``LOG_COLUMNS`` but ``seq``)."""
        ...

    def search(self, q: LogQuery) -> tuple[list[dict[str, Any]], str | None]:
        """Matching records, newest first, and the cursor of the next page."""
        ...

    def tail_cursor(self) -> str:
        """A cursor standing for every record stored so far (for :meth:`tail`)."""
        ...

    def tail(self, q: LogQuery, after: str) -> tuple[list[dict[str, Any]], str, bool]:
        """Records matching ``q`` that arrived after the tail cursor ``after``, in arrival
        order, at most ``q.limit``; the cursor to pass next, and whether more are waiting."""
        ...

    def services(self, start_ns: int, end_ns: int, limit: int) -> list[str]:
        """Service names of records in the range, sorted, at most ``limit``."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Exemplar:
    """One exemplar: its own labels (``trace_id``, ``span_id`` ...), value and time in ms."""

    labels: Mapping[str, str]
    value: float
    ts_ms: int


@dataclasses.dataclass(frozen=True, slots=True)
class ExemplarSeries:
    """A series' labels and its exemplars in time order (``/api/v1/query_exemplars``)."""

    series: Mapping[str, str]
    exemplars: list[Exemplar]


class ExemplarStore(Protocol):
    """Exemplars attached to series, bounded as Prometheus's circular exemplar storage is."""

    def add(self, series: Mapping[str, str], exemplar: Exemplar) -> str | None:
        """Store one exemplar of ``series``; None when stored, else why not (``duplicate``,
        ``out_of_order``, ``label_length``, ``disabled``)."""
        ...

    def select(
        self, start_ms: int, end_ms: int, matcher_sets: Sequence[Sequence[Matcher]]
    ) -> list[ExemplarSeries]:
        """Exemplars in ``[start_ms, end_ms]`` of series matching any matcher set, series
        sorted by labels."""
        ...
