"""What one scrape writes: exposed samples with target labels, the ``up``/``scrape_*`` report
series, and staleness markers — Prometheus's scrape-loop bookkeeping, without the HTTP.

Series keys are the store's refs (:meth:`SampleWriter.ref`), written with the columnar
:meth:`SampleWriter.append_refs`; a per-target memo maps each series' exposition text to its ref,
so a series seen in an earlier scrape costs a dict lookup.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from tripod.server.config import ScrapeConfig, relabel
from tripod.server.deps import ServerContext
from tripod.server.ingest._prom_metrics import record
from tripod.server.ingest.import_text import (
    ExpositionError,
    ParsedExposition,
    parse_exposition,
)
from tripod.server.ingest.scrape._targets import Target
from tripod.server.store.model import STALE_NAN, AppendResult, Exemplar, LabelError

__all__ = ["ScrapeResult", "TargetWriter", "merge_target_labels"]

_log = logging.getLogger("tripod.server.scrape")
_DROPPED = object()
_REPORT_NAMES = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)


def merge_target_labels(
    exposed: Mapping[str, str], target: Mapping[str, str], honor_labels: bool
) -> dict[str, str]:
    """Attach target labels to an exposed series as Prometheus does: with ``honor_labels``
    the exposed value wins; otherwise the target's does and the exposed one is kept as
    ``exported_<name>`` (``exported_exported_<name>`` if that is taken too)."""
    out = dict(exposed)
    if honor_labels:
        for name, value in target.items():
            if not out.get(name):
                out[name] = value
        return out
    for name, value in target.items():
        existing = exposed.get(name, "")
        if existing:
            new = "exported_" + name
            while new in exposed or new in target:
                new = "exported_" + new
            out[new] = existing
        out[name] = value
    return out


@dataclasses.dataclass
class ScrapeResult:
    """What a scrape did, for the report series and the caller's log."""

    up: bool
    scraped: int = 0
    post_relabel: int = 0
    series_added: int = 0
    stored: AppendResult = dataclasses.field(default_factory=AppendResult)
    error: str = ""


class _Sink:
    """Resolves label sets to series refs and writes ref/timestamp/value columns."""

    def __init__(self, ctx: ServerContext) -> None:
        self.store = ctx.samples

    def resolve(self, labels: dict[str, str]) -> tuple[Hashable, int]:
        """``(identity, ref)``; raises LabelError when the store refuses the series."""
        ref = self.store.ref(labels)
        return ref, ref

    def write(
        self, keys: Sequence[int], stamps: Sequence[int], values: Sequence[float]
    ) -> AppendResult:
        if not keys:
            return AppendResult()
        return self.store.append_refs(
            np.array(keys, dtype=np.int64),
            np.array(stamps, dtype=np.int64),
            np.array(values, dtype=np.float64),
        )


class TargetWriter:
    """One target's scrape bookkeeping: call :meth:`success` / :meth:`failure` per scrape and
    :meth:`end` when the target goes away. Thread-safe (scrapes run in worker threads)."""

    def __init__(self, ctx: ServerContext, cfg: ScrapeConfig, target: Target) -> None:
        self.ctx = ctx
        self.cfg = cfg
        self.target = target
        self._sink = _Sink(ctx)
        self._lock = threading.Lock()
        self._memo: dict[str, Any] = {}  # series text -> (identity, key) or _DROPPED
        self._labels_cache: dict[str, dict[str, str]] = {}  # series text -> exposed labels
        self._prev: dict[Hashable, Any] = {}  # series of the previous scrape: identity -> key
        self._report: list[Any] | None = None
        self._metadata: dict[str, dict[str, str]] = {}
        self._ended = False

    def _report_keys(self) -> list[Any]:
        """Store keys of ``up`` and the ``scrape_*`` series (None where the store refuses one,
        e.g. a target label over a limit: logged once, the scrape itself goes on)."""
        if self._report is None:
            keys: list[Any] = []
            for name in _REPORT_NAMES:
                try:
                    keys.append(self._sink.resolve({**self.target.labels, "__name__": name})[1])
                except LabelError as exc:
                    _log.error("target %s: cannot store %s: %s", self.target.url, name, exc)
                    keys.append(None)
            self._report = keys
        return self._report

    def _key_for(self, text: str, exposed: dict[str, str], result: AppendResult) -> Any:
        found = self._memo.get(text)
        if found is not None:
            return found
        labels = merge_target_labels(exposed, self.target.labels, self.cfg.honor_labels)
        relabelled = relabel(labels, self.cfg.metric_relabel_configs)
        entry: Any
        if relabelled is None:
            entry = _DROPPED
        else:
            try:
                entry = self._sink.resolve(relabelled)
            except LabelError as exc:
                # Refused by the store (a limit): counted now, retried at the next scrape.
                result.reject(exc.reason, str(exc))
                return _DROPPED
        if len(self._memo) > 2 * len(self._prev) + 10_000:
            self._memo.clear()
        self._memo[text] = entry
        return entry

    def success(
        self, body: str, openmetrics: bool, scrape_ms: int, duration_s: float
    ) -> ScrapeResult:
        """Store one scrape's body; a body that does not parse is a failed scrape."""
        with self._lock:
            if self._ended:
                return ScrapeResult(up=False, error="target removed")
            if len(self._labels_cache) > 2 * len(self._prev) + 10_000:
                self._labels_cache.clear()  # series churn: do not grow without bound
            try:
                parsed = parse_exposition(body, openmetrics, scrape_ms, self._labels_cache)
            except ExpositionError as exc:
                return self._failed(f"cannot parse the exposition: {exc}", scrape_ms, duration_s)
            result = ScrapeResult(up=True, scraped=len(parsed.values))
            refused = AppendResult()
            keys, stamps, values, current = self._columns(parsed, scrape_ms, refused)
            result.post_relabel = len(keys)
            limit = self.cfg.sample_limit
            if limit and result.post_relabel > limit:
                return self._failed(
                    f"sample_limit exceeded: {result.post_relabel} samples after relabelling, "
                    f"limit {limit}",
                    scrape_ms,
                    duration_s,
                )
            result.series_added = sum(1 for identity in current if identity not in self._prev)
            for identity, key in self._prev.items():
                if identity not in current:
                    keys.append(key)
                    stamps.append(scrape_ms)
                    values.append(STALE_NAN)
            self._prev = current
            self._report_values((keys, stamps, values), scrape_ms, 1.0, duration_s, result)
            result.stored = self._sink.write(keys, stamps, values)
            if parsed.exemplars:
                self._store_exemplars(parsed)
            self._remember_metadata(parsed.metadata)
            self._count(result.stored, refused)
            return result

    def _store_exemplars(self, parsed: ParsedExposition) -> None:
        """OpenMetrics exemplars, attached to their series' stored labels (target labels and
        metric relabelling applied, as for the samples)."""
        for text, labels, value, ts_ms in parsed.exemplars:
            exposed = merge_target_labels(
                parsed.labels[text], self.target.labels, self.cfg.honor_labels
            )
            series = relabel(exposed, self.cfg.metric_relabel_configs)
            if series is not None:
                self.ctx.exemplars.add(series, Exemplar(labels, value, ts_ms))

    def _columns(
        self, parsed: ParsedExposition, scrape_ms: int, refused: AppendResult
    ) -> tuple[list[Any], list[int], list[float], dict[Hashable, Any]]:
        """Keys, timestamps and values to store, and the series tracked for staleness.

        Written as whole-list operations: this runs once per sample of every scrape.
        """
        texts, raw_stamps, raw_values = parsed.series_text, parsed.stamps, parsed.values
        get = self._memo.get
        entries: list[Any] = [get(text) for text in texts]
        if None in entries:
            for i, entry in enumerate(entries):
                if entry is None:
                    entries[i] = self._key_for(texts[i], parsed.labels[texts[i]], refused)
        if _DROPPED in entries:
            kept = [i for i, entry in enumerate(entries) if entry is not _DROPPED]
            entries = [entries[i] for i in kept]
            raw_stamps = [raw_stamps[i] for i in kept]
            raw_values = [raw_values[i] for i in kept]
        keys = [entry[1] for entry in entries]
        explicit = self.cfg.honor_timestamps and raw_stamps.count(scrape_ms) != len(raw_stamps)
        if not explicit:  # the common case: every sample at the scrape's time, all tracked
            return keys, [scrape_ms] * len(keys), list(raw_values), dict(entries)
        # Samples with their own timestamp are stored as given and not tracked for staleness.
        current = {e[0]: e[1] for e, t in zip(entries, raw_stamps, strict=True) if t == scrape_ms}
        return keys, list(raw_stamps), list(raw_values), current

    def failure(self, error: str, scrape_ms: int, duration_s: float) -> ScrapeResult:
        """A failed scrape: ``up`` 0 and staleness markers for the previous scrape's series."""
        with self._lock:
            if self._ended:
                return ScrapeResult(up=False, error=error)
            return self._failed(error, scrape_ms, duration_s)

    def _failed(self, error: str, scrape_ms: int, duration_s: float) -> ScrapeResult:
        result = ScrapeResult(up=False, error=error)
        keys = list(self._prev.values())
        stamps = [scrape_ms] * len(keys)
        values = [STALE_NAN] * len(keys)
        self._prev = {}
        self._report_values((keys, stamps, values), scrape_ms, 0.0, duration_s, result)
        result.stored = self._sink.write(keys, stamps, values)
        self._count(result.stored, AppendResult())
        return result

    def end(self, now_ms: int) -> None:
        """The target went away: staleness markers for all its series, report series included."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            keys = [*self._prev.values(), *(k for k in self._report_keys() if k is not None)]
            self._prev = {}
            self._sink.write(keys, [now_ms] * len(keys), [STALE_NAN] * len(keys))

    def _report_values(
        self, cols: tuple[list[Any], list[int], list[float]], scrape_ms: int, up: float,
        duration_s: float, result: ScrapeResult,
    ) -> None:  # fmt: skip
        keys, stamps, values = cols
        report = (up, duration_s, result.scraped, result.post_relabel, result.series_added)
        for key, value in zip(self._report_keys(), report, strict=True):
            if key is None:
                continue
            keys.append(key)
            stamps.append(scrape_ms)
            values.append(float(value))

    def _remember_metadata(self, metadata: Mapping[str, Mapping[str, str]]) -> None:
        for metric, entry in metadata.items():
            if self._metadata.get(metric) != entry:
                self.ctx.samples.set_metadata(
                    metric,
                    entry.get("type", "unknown"),
                    entry.get("help", ""),
                    entry.get("unit", ""),
                )
                self._metadata[metric] = dict(entry)

    def _count(self, stored: AppendResult, refused: AppendResult) -> None:
        rejected = dict(refused.rejected)
        for reason, n in stored.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + n
        record(self.ctx, "scrape", stored.accepted, rejected)
