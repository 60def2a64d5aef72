"""The contract between the sample store, ingest and the PromQL engine.

Ingest (OTLP metrics, remote write, import, scrape) appends :class:`Sample` batches; the PromQL
engine and the Prometheus API read :class:`SeriesData` back through :class:`SampleStore`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "STALE_NAN",
    "STALE_NAN_BITS",
    "AppendResult",
    "Matcher",
    "Sample",
    "SampleStore",
    "SeriesData",
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


class SampleStore(Protocol):
    """Series and samples. Implementations must be safe to call from several threads."""

    def append(self, samples: Iterable[Sample]) -> AppendResult:
        """Durably store ``samples`` before returning (what is acknowledged survives kill -9).

        Per series, a sample older than the newest stored one is rejected as ``out_of_order``;
        the same timestamp with another value as ``duplicate_timestamp``; an identical
        duplicate is accepted silently, as Prometheus does.
        """
        ...

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        """Series matching every matcher with their samples in ``[start_ms, end_ms]``."""
        ...

    def series(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        """Label sets of series matching any of the sets, with a sample in the range."""
        ...

    def label_names(
        self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[str]: ...

    def label_values(
        self, name: str, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int
    ) -> list[str]: ...

    def set_metadata(self, metric: str, type_: str, help_: str, unit: str = "") -> None:
        """Remember a metric family's type/help/unit (from exposition, OTLP or remote write)."""
        ...

    def metadata(self) -> dict[str, list[dict[str, str]]]:
        """``{metric: [{"type", "help", "unit"}]}`` as /api/v1/metadata answers."""
        ...
