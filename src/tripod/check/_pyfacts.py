"""What one Python module tells ``tripod check``: the facts a single ``ast`` pass collects.

Nothing is imported or run. Names are matched by the identifiers the code uses, which keeps the
analysis fast and errs towards silence: a metric counts as recorded as soon as its name is used
in a way the scanner cannot follow (passed to a function, returned, stored elsewhere).
"""

from __future__ import annotations

import dataclasses

from tripod.check._model import Finding


@dataclasses.dataclass(frozen=True)
class MetricDecl:
    """A metric family declared in code (prometheus_client, tripod, OTel, or a catalog spec)."""

    name: str  # family name as exposed, a counter without its ``_total``
    kind: str  # counter, gauge, histogram, summary, info, enum
    help: str | None  # None when not a constant
    labels: tuple[str, ...]
    path: str
    line: int
    col: int
    binding: str | None  # who holds it: ``pkg.mod.X``, or ``*.X`` for ``self.X``; None if nobody
    source: str  # "prometheus_client", "tripod", "otel", "spec"

    @property
    def series(self) -> tuple[str, ...]:
        n = self.name
        if self.source == "otel":
            return _otel_series(self)
        if self.kind == "counter":
            return (f"{n}_total", f"{n}_created", n)
        if self.kind == "histogram":
            return (f"{n}_bucket", f"{n}_sum", f"{n}_count", f"{n}_created", n)
        if self.kind == "summary":
            return (n, f"{n}_sum", f"{n}_count", f"{n}_created")
        if self.kind == "info":
            return (f"{n}_info", n)
        return (n,)


_OTEL_UNITS = {"s": "_seconds", "ms": "_milliseconds", "By": "_bytes", "1": "_ratio"}


def _otel_series(decl: MetricDecl) -> tuple[str, ...]:
    base = decl.name
    stems = {base} | {base + suffix for suffix in _OTEL_UNITS.values()}
    out: set[str] = set()
    for stem in stems:
        out |= {stem, f"{stem}_total", f"{stem}_bucket", f"{stem}_sum", f"{stem}_count"}
    return tuple(sorted(out))


@dataclasses.dataclass(frozen=True)
class ObserveSite:
    """A value recorded into a metric: the scale the expression applies (``div1000``,
    ``mul1000``, ``ns``, ``ms``) when one is visible."""

    binding: str
    scale: str
    path: str
    line: int
    col: int


@dataclasses.dataclass(frozen=True)
class EntryPoint:
    kind: str  # "route" or "task"
    what: str  # "GET /orders", "celery task charge"
    path: str
    line: int
    col: int


@dataclasses.dataclass
class ModuleFacts:
    path: str
    lines: int = 0
    decls: list[MetricDecl] = dataclasses.field(default_factory=list)
    dynamic_prefixes: list[str] = dataclasses.field(default_factory=list)
    recorded: set[str] = dataclasses.field(default_factory=set)
    escaped: set[str] = dataclasses.field(default_factory=set)
    aliases: dict[str, str] = dataclasses.field(default_factory=dict)
    observes: list[ObserveSite] = dataclasses.field(default_factory=list)
    entries: list[EntryPoint] = dataclasses.field(default_factory=list)
    instrumented: bool = False
    imported: set[str] = dataclasses.field(default_factory=set)
    findings: list[Finding] = dataclasses.field(default_factory=list)
