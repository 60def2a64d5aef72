"""Storage of series/samples, spans and log records in one DuckDB file.

The contract every other part codes against is in ``model.py`` (:class:`SampleStore` with its
reader and writer halves, :class:`SpanStore`, :class:`LogStore`); the DuckDB implementations are
:class:`DuckSampleStore`, :class:`DuckSpanStore` and :class:`DuckLogStore` over one
:class:`Database`; retention by age and size is :func:`apply_retention` / :func:`retention_loop`.
"""

from __future__ import annotations

from tripod.server.store.db import Database, QueryTimeoutError, StoreError
from tripod.server.store.exemplars import MemoryExemplarStore
from tripod.server.store.logs import LEVELS, LOG_COLUMNS, DuckLogStore, level_of
from tripod.server.store.model import (
    STALE_NAN,
    STALE_NAN_BITS,
    AppendResult,
    Exemplar,
    ExemplarSeries,
    ExemplarStore,
    FlatSelection,
    LabelError,
    LogQuery,
    LogStore,
    Matcher,
    MatchOp,
    Sample,
    SampleReader,
    SampleStore,
    SampleWriter,
    SeriesData,
    SpanStore,
    TraceQuery,
    is_stale,
)
from tripod.server.store.retention import RetentionReport, apply_retention, retention_loop
from tripod.server.store.samples import DuckSampleStore
from tripod.server.store.spans import SPAN_COLUMNS, DuckSpanStore, decode_cursor

__all__ = [
    "LEVELS",
    "LOG_COLUMNS",
    "SPAN_COLUMNS",
    "STALE_NAN",
    "STALE_NAN_BITS",
    "AppendResult",
    "Database",
    "DuckLogStore",
    "DuckSampleStore",
    "DuckSpanStore",
    "Exemplar",
    "ExemplarSeries",
    "ExemplarStore",
    "FlatSelection",
    "LabelError",
    "LogQuery",
    "LogStore",
    "MatchOp",
    "Matcher",
    "MemoryExemplarStore",
    "QueryTimeoutError",
    "RetentionReport",
    "Sample",
    "SampleReader",
    "SampleStore",
    "SampleWriter",
    "SeriesData",
    "SpanStore",
    "StoreError",
    "TraceQuery",
    "apply_retention",
    "decode_cursor",
    "is_stale",
    "level_of",
    "retention_loop",
]
