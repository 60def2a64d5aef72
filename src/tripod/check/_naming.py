"""promlint's problems (client_golang ``prometheus/testutil/promlint``), applied to declarations.

Each check mirrors one promlint validation: help text, base units, counter ``_total``, the
histogram/summary reserved suffixes and labels, type in the name, ``:``, camelCase, abbreviated
units, the ``_timestamp_seconds`` gauge suffix and uniqueness. Names are checked as exposed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from tripod.check._model import RULES, Finding
from tripod.check._pyfacts import MetricDecl

#: promlint's unit table: a unit -> its base unit.
UNITS = {
    "amperes": "amperes",
    "bytes": "bytes",
    "celsius": "celsius",
    "grams": "grams",
    "joules": "joules",
    "kelvin": "kelvin",
    "meters": "meters",
    "metres": "metres",
    "seconds": "seconds",
    "volts": "volts",
    "minutes": "seconds",
    "hours": "seconds",
    "days": "seconds",
    "weeks": "seconds",
    "kelvins": "kelvin",
    "fahrenheit": "celsius",
    "rankine": "celsius",
    "inches": "meters",
    "yards": "meters",
    "miles": "meters",
    "bits": "bytes",
    "calories": "joules",
    "pounds": "grams",
    "ounces": "grams",
}
UNIT_PREFIXES = (
    "pico",
    "nano",
    "micro",
    "milli",
    "centi",
    "deci",
    "deca",
    "hecto",
    "kilo",
    "kibi",
    "mega",
    "mibi",
    "giga",
    "gibi",
    "tera",
    "tebi",
    "peta",
    "pebi",
)
UNIT_ABBREVIATIONS = (
    "s",
    "ms",
    "us",
    "ns",
    "sec",
    "b",
    "kb",
    "mb",
    "gb",
    "tb",
    "pb",
    "m",
    "h",
    "d",
)
TYPE_WORDS = ("counter", "gauge", "summary", "histogram", "gauge_histogram")
_CAMEL = re.compile(r"[a-z][A-Z]")
_VALID = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_VALID_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def metric_unit(name: str) -> tuple[str, str] | None:
    """The unit word in ``name`` and its base unit, as promlint's ``metricUnits``."""
    for word in name.split("_"):
        if word in UNITS:
            return word, UNITS[word]
        for prefix in UNIT_PREFIXES:
            if word.startswith(prefix) and word[len(prefix) :] in UNITS:
                return word, UNITS[word[len(prefix) :]]
    return None


def exposed_name(decl: MetricDecl) -> str:
    if decl.kind == "counter" and not decl.name.endswith("_total"):
        return decl.name + "_total"
    if decl.kind == "info":
        return decl.name + "_info"
    return decl.name


def problems(decl: MetricDecl) -> Iterator[tuple[str, str]]:
    """(rule, message) for every promlint problem of one declaration."""
    name = exposed_name(decl)
    if not _VALID.fullmatch(name):
        yield "naming-invalid", f"{decl.name!r} is not a valid metric name"
        return
    for label in decl.labels:
        if not _VALID_LABEL.fullmatch(label):
            yield "naming-invalid", f"label {label!r} of {decl.name} is not a valid label name"
    if not decl.help:
        yield "naming-help", f"{decl.name} has no help text"
    found = metric_unit(name)
    if found and found[0] != found[1]:
        yield "naming-base-unit", f"{decl.name}: use base unit {found[1]!r} instead of {found[0]!r}"
    kind = decl.kind
    if kind == "counter" and not name.endswith("_total"):
        yield "naming-counter-total", f'counter {name} should have "_total" suffix'
    if kind != "counter" and name.endswith("_total"):
        yield "naming-counter-total", f'non-counter {name} should not have "_total" suffix'
    if kind != "histogram":
        if name.endswith("_bucket"):
            yield "naming-reserved-suffix", f'non-histogram {name} should not have "_bucket"'
        if "le" in decl.labels:
            yield "naming-reserved-suffix", f'non-histogram {name} should not have "le" label'
    if kind not in {"histogram", "summary"}:
        for suffix in ("_count", "_sum"):
            if name.endswith(suffix):
                yield "naming-reserved-suffix", f'{kind} {name} should not have "{suffix}" suffix'
    if kind != "summary" and "quantile" in decl.labels:
        yield "naming-reserved-suffix", f'non-summary {name} should not have "quantile" label'
    if kind not in {"gauge", "untyped"} and name.endswith("_timestamp_seconds"):
        yield "naming-reserved-suffix", f'non-gauge {name} should not have "_timestamp_seconds"'
    lower = name.lower()
    for word in TYPE_WORDS:
        if f"_{word}_" in lower or lower.endswith(f"_{word}"):
            yield "naming-type-in-name", f"{name} should not include type {word!r}"
    if ":" in name:
        yield "naming-reserved-chars", f"{name} should not contain ':'"
    if _CAMEL.search(name):
        yield "naming-camel-case", f"{name} should be written in snake_case, not camelCase"
    for label in decl.labels:
        if _CAMEL.search(label):
            yield "naming-camel-case", f"label {label!r} should be written in snake_case"
    for abbr in UNIT_ABBREVIATIONS:
        if f"_{abbr}_" in lower or lower.endswith(f"_{abbr}"):
            yield "naming-abbreviated-unit", f"{name} should not contain abbreviated unit {abbr!r}"
            break
    base = decl.name.removesuffix("_total")
    for label in decl.labels:
        if label in {base, name}:
            yield "naming-label-repeats-name", f"label {label!r} repeats the metric name"


def lint(decls: Iterable[MetricDecl]) -> list[Finding]:
    """promlint over declarations (OpenTelemetry instruments follow OTel's own conventions and
    are left out), plus "metric not unique" across the project."""
    out: list[Finding] = []
    seen: dict[tuple[str, str], MetricDecl] = {}
    for decl in decls:
        if decl.source == "otel":
            continue
        for rule, message in problems(decl):
            r = RULES[rule]
            out.append(Finding(decl.path, decl.line, decl.col, rule, r.severity, message, r.hint))
        key = (decl.name, decl.source if decl.source == "spec" else "code")
        first = seen.setdefault(key, decl)
        if first is not decl and (first.kind, first.labels) != (decl.kind, decl.labels):
            r = RULES["naming-duplicate"]
            message = f"{decl.name} is also declared at {first.path}:{first.line}, differently"
            out.append(Finding(decl.path, decl.line, decl.col, r.id, r.severity, message, r.hint))
    return out
