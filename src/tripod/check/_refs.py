"""Unknown references: metric names PromQL reads that nothing declares or exports.

The catalog a query is compared with is the one ``tripod generate`` writes from: tripod's
``catalog.py`` (when the project uses tripod), every metric the project's code declares, the
outputs of its recording rules, and what known instrumentation exports by default.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable

from tripod.catalog import CATALOG
from tripod.check._model import RULES, Finding

#: Always present: Prometheus's own per-target series and the alert state series.
PROMETHEUS_SERIES = frozenset(
    {
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_series_added",
        "scrape_samples_post_metric_relabeling",
        "ALERTS",
        "ALERTS_FOR_STATE",
    }
)
#: prometheus_client's default collectors (process, platform, gc), which tripod exposes too.
CLIENT_DEFAULTS = frozenset(
    {
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_max_fds",
        "process_virtual_memory_bytes",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "python_gc_objects_collected_total",
        "python_gc_objects_uncollectable_total",
        "python_gc_collections_total",
        "python_info",
    }
)
#: Instrumentation libraries (detected by import) and the families they export.
LIBRARY_EXPORTS: dict[str, frozenset[str]] = {
    "prometheus_fastapi_instrumentator": frozenset(
        {
            "http_requests_total",
            "http_request_duration_seconds_bucket",
            "http_request_duration_seconds_sum",
            "http_request_duration_seconds_count",
            "http_request_duration_highr_seconds_bucket",
            "http_request_duration_highr_seconds_sum",
            "http_request_duration_highr_seconds_count",
            "http_request_size_bytes_sum",
            "http_request_size_bytes_count",
            "http_response_size_bytes_sum",
            "http_response_size_bytes_count",
        }
    ),
    "opentelemetry.instrumentation": frozenset(
        {
            f"{stem}{suffix}"
            for stem in (
                "http_server_duration_milliseconds",
                "http_server_request_duration_seconds",
                "http_client_duration_milliseconds",
                "http_client_request_duration_seconds",
                "http_server_request_size_bytes",
                "http_server_response_size_bytes",
            )
            for suffix in ("_bucket", "_sum", "_count")
        }
        | {"http_server_active_requests"}
    ),
}


@dataclasses.dataclass(frozen=True)
class PromqlUse:
    name: str
    path: str
    line: int
    where: str


def catalog_series() -> frozenset[str]:
    return frozenset(n for spec in CATALOG for n in (spec.name, *spec.series_names))


@dataclasses.dataclass
class Known:
    names: set[str] = dataclasses.field(default_factory=set)
    prefixes: list[str] = dataclasses.field(default_factory=list)
    namespaces: set[str] = dataclasses.field(default_factory=set)

    def add_project(self, names: Iterable[str]) -> None:
        for name in names:
            self.names.add(name)
            self.namespaces.add(name.split("_", 1)[0])

    def knows(self, name: str) -> bool:
        return (
            name in self.names
            or name in PROMETHEUS_SERIES
            or name in CLIENT_DEFAULTS
            or any(name.startswith(p) for p in self.prefixes)
        )


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    pool = sorted(n for n in known if ":" not in n)
    for suffix in ("_total", "_seconds", "_bytes"):
        for cand in (name + suffix, name.removesuffix(suffix)):
            if cand != name and cand in pool:
                return cand
    for hist in ("_bucket", "_sum", "_count"):
        if name.endswith(hist):
            stem = name.removesuffix(hist)
            for cand in (f"{stem}_seconds{hist}", f"{stem}_bytes{hist}"):
                if cand in pool:
                    return cand
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.75)
    if close:
        return close[0]
    # a renamed metric keeps its histogram/counter suffix: compare within the same suffix
    for suffix in ("_bucket", "_sum", "_count", "_total"):
        if name.endswith(suffix):
            same = [n for n in pool if n.endswith(suffix)]
            close = difflib.get_close_matches(name, same, n=1, cutoff=0.6)
            if close:
                return close[0]
    return None


def unknown(uses: Iterable[PromqlUse], known: Known) -> list[Finding]:
    """A finding per unknown name that belongs to the project: it shares a namespace (first
    word) with a declared metric, or is close to a known one. Names of other exporters
    (node_*, kube_*, …) are left alone: only a live Prometheus could vouch for them."""
    out: list[Finding] = []
    rule = RULES["unknown-metric"]
    for use in uses:
        name = use.name
        if known.knows(name) or "__tripod_var__" in name:
            continue
        guess = did_you_mean(name, known.names)
        if guess is None and name.split("_", 1)[0] not in known.namespaces:
            continue
        message = (
            f"{use.where}: {name} is not declared by the code or exported by known instrumentation"
        )
        hint = f"did you mean {guess}?" if guess else rule.hint
        out.append(Finding(use.path, use.line, 1, rule.id, rule.severity, message, hint))
    return out
