"""The registry: which families exist, conflicts between them, and a whole scrape's text."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from tripod.sdk.metrics._children import log_once
from tripod.sdk.metrics._instruments import Family
from tripod.sdk.metrics._values import LocalValueFactory, ValueFactory

__all__ = ["Collector", "MetricsRegistry"]

F = TypeVar("F", bound=Family)


class Collector(Protocol):
    """Anything prometheus_client can collect from: ``collect()`` yields ``Metric`` families."""

    def collect(self) -> Iterable[Any]: ...


class MetricsRegistry:
    """tripod's families plus foreign collectors, rendered together without duplicate names.

    ``sources`` are (collector, warn) pairs rendered after tripod's own families; a foreign
    family whose name or sample names tripod (or an earlier source) already exposes is skipped,
    with a warning when ``warn`` is true. A source with ``collect_unless(taken_names)`` is asked
    only for what is still missing.
    """

    def __init__(
        self,
        factory: ValueFactory | None = None,
        sources: Sequence[tuple[Collector, bool]] = (),
    ) -> None:
        self.factory: ValueFactory = factory or LocalValueFactory()
        self.sources = list(sources)
        self._families: dict[str, Family] = {}
        self._names: dict[str, str] = {}  # every sample name -> the family that owns it
        self._lock = threading.Lock()

    def register(self, make: Callable[[ValueFactory], F], kind: type[F]) -> F:
        """Build a family with ``make`` and add it, or return the same existing definition."""
        family = make(self.factory)
        with self._lock:
            existing = self._families.get(family.name)
            if existing is not None:
                if isinstance(existing, kind) and existing.signature() == family.signature():
                    return existing
                msg = (
                    f"metric {family.name!r} is already registered as {_describe(existing)}; "
                    f"cannot register it again as {_describe(family)}. Reuse the first "
                    "instrument or pick another name"
                )
                raise ValueError(msg)
            for sample in family.sample_names():
                owner = self._names.get(sample)
                if owner is not None:
                    msg = (
                        f"metric {family.name!r} would expose {sample!r}, which metric "
                        f"{owner!r} already exposes; pick another name"
                    )
                    raise ValueError(msg)
            self._families[family.name] = family
            for sample in family.sample_names():
                self._names[sample] = family.name
        describe = getattr(self.factory, "describe", None)
        if describe is not None:  # shared (multi-process) values: any worker can render it
            describe(family)
        return family

    def unregister(self, name: str) -> None:
        """Remove the family ``name`` (its series disappear from the next scrape)."""
        with self._lock:
            family = self._families.pop(name, None)
            if family is not None:
                for sample in family.sample_names():
                    self._names.pop(sample, None)

    def get(self, name: str) -> Family | None:
        return self._families.get(name)

    def families(self) -> list[Family]:
        with self._lock:
            return list(self._families.values())

    def clear(self) -> None:
        with self._lock:
            self._families.clear()
            self._names.clear()

    def render(self, openmetrics: bool) -> bytes:
        """One scrape: tripod's families, then foreign ones, then ``# EOF`` for OpenMetrics."""
        from tripod.sdk.metrics._exposition import render_families, render_foreign

        shared = getattr(self.factory, "collect", None)
        taken: set[str] = set()
        if shared is not None:  # multi-process: every worker's values, read from their files
            merged = shared()
            chunks = [render_foreign(merged, openmetrics)]
            taken = {s.name for metric in merged for s in metric.samples}
            taken |= {metric.name for metric in merged}
        else:
            chunks = render_families(self.families(), openmetrics)
        foreign = self._collect_foreign(taken)
        if foreign:
            chunks.append(render_foreign(foreign, openmetrics))
        if openmetrics:
            chunks.append("# EOF\n")
        return "".join(chunks).encode("utf-8")

    def _collect_foreign(self, extra: set[str]) -> list[Any]:
        if not self.sources:
            return []
        with self._lock:
            taken = set(self._names) | extra
        out: list[Any] = []
        for source, warn in self.sources:
            try:
                collect_unless = getattr(source, "collect_unless", None)
                if collect_unless is not None:
                    metrics = list(collect_unless(taken))
                else:
                    metrics = list(source.collect())
            except Exception as exc:
                log_once(
                    f"collect:{type(source).__name__}",
                    f"tripod: collector {source!r} failed and was skipped: {exc!r}",
                )
                continue
            for metric in metrics:
                names = {metric.name, *(s.name for s in metric.samples)}
                if metric.type == "counter":
                    names.add(metric.name + "_total")
                if names & taken:
                    if warn and not names & extra:  # shared process metrics replace these
                        log_once(
                            f"dup:{metric.name}",
                            f"tripod: metric {metric.name!r} from prometheus_client's registry "
                            "has the name of a metric tripod already exposes; only tripod's is "
                            "shown on /metrics. Rename one of them",
                        )
                    continue
                taken |= names
                out.append(metric)
        return out


def _describe(family: Family) -> str:
    text = f"a {family.kind} with labels {list(family.labelnames)}"
    if family.unit:
        text += f", unit {family.unit!r}"
    bounds = getattr(family, "bounds", None)
    if bounds is not None:
        text += f", buckets {bounds}"
    return text
