"""Prometheus text 0.0.4 and OpenMetrics 1.0 rendering, and choosing between them.

Why this is fast: every child already holds the text of its sample names and labels
(``name_bucket{a="x",le="0.1"} ``), so a scrape formats numbers with ``repr`` and joins
strings once, instead of building sample objects and escaping labels on every scrape as
``prometheus_client.generate_latest`` does. Families that live on prometheus_client's own
registry are rendered with prometheus_client's encoders.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import accumulate
from typing import Any

from tripod.sdk.metrics._instruments import Family

__all__ = [
    "OPENMETRICS_CONTENT_TYPE",
    "TEXT_CONTENT_TYPE",
    "format_value",
    "render_families",
    "render_foreign",
    "wants_openmetrics",
]

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

_SPECIAL = {"inf": "+Inf", "-inf": "-Inf", "nan": "NaN"}


def format_value(value: float) -> str:
    """A sample value as both formats spell it: ``repr`` digits, ``+Inf``, ``-Inf``, ``NaN``."""
    text = repr(value)
    if text[-1] in "fn":  # only inf, -inf and nan end in f or n
        return _SPECIAL[text]
    return text


def wants_openmetrics(accept: str | None) -> bool:
    """Negotiate as RFC 9110 says, for the Accept headers Prometheus's scraper sends.

    OpenMetrics is chosen when ``application/openmetrics-text`` has a non-zero quality at least
    as high as ``text/plain`` (or a wildcard); anything else gets the 0.0.4 text format, which
    every scraper understands.
    """
    if not accept:
        return False
    om_q = 0.0
    text_q = 0.0
    for item in accept.split(","):
        media, *params = item.split(";")
        media = media.strip().lower()
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if media == "application/openmetrics-text":
            om_q = max(om_q, q)
        elif media in ("text/plain", "text/*", "*/*"):
            text_q = max(text_q, q)
    return om_q > 0 and om_q >= text_q


def _escape_help(text: str, openmetrics: bool) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if openmetrics else text


def _header(family: Family, openmetrics: bool) -> str:
    kind = family.kind
    name = family.name
    if openmetrics:
        unit = f"# UNIT {name} {family.unit}\n" if family.unit else ""
        return f"# HELP {name} {_escape_help(family.help, True)}\n# TYPE {name} {kind}\n{unit}"
    if kind == "counter":
        name += "_total"
    return f"# HELP {name} {_escape_help(family.help, False)}\n# TYPE {name} {kind}\n"


def _scalar_lines(children: list[Any]) -> str:
    fmt = format_value
    return "".join([f"{c.prefix}{fmt(c.get())}\n" for c in children])


def _histogram_lines(children: list[Any], openmetrics: bool) -> str:
    fmt = format_value
    parts: list[str] = []
    add = parts.append
    for child in children:
        counts, total, exemplars = child.snapshot()
        cumulative = list(accumulate(counts))
        prefixes = child.bucket_prefixes
        if exemplars is None or not openmetrics:
            add("".join([f"{p}{n}\n" for p, n in zip(prefixes, cumulative, strict=True)]))
        else:
            for prefix, n, ex in zip(prefixes, cumulative, exemplars, strict=True):
                if ex is None:
                    add(f"{prefix}{n}\n")
                else:
                    add(f"{prefix}{n} # {{{ex[0]}}} {fmt(ex[1])} {ex[2]!r}\n")
        add(f"{child.sum_prefix}{fmt(total)}\n{child.count_prefix}{cumulative[-1]}\n")
    return "".join(parts)


def render_families(families: Iterable[Family], openmetrics: bool) -> list[str]:
    """The exposition text of tripod's own families, as a list of chunks to join."""
    out: list[str] = []
    for family in families:
        children = family.children()
        # A labelled family with no series yet still gets its header, as in prometheus_client.
        out.append(_header(family, openmetrics))
        if family.kind == "histogram":
            out.append(_histogram_lines(children, openmetrics))
        else:
            out.append(_scalar_lines(children))
    return out


class _Collected:
    """Adapts already-collected prometheus_client families to its encoders' ``collect()``."""

    def __init__(self, metrics: list[Any]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Any]:
        return self._metrics


def render_foreign(metrics: list[Any], openmetrics: bool) -> str:
    """Render prometheus_client ``Metric`` families with prometheus_client's own encoders."""
    if not metrics:
        return ""
    # prometheus_client's encoders are imported at the first scrape that needs them.
    from prometheus_client.exposition import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

    if openmetrics:
        text: str = generate_openmetrics(_Collected(metrics)).decode("utf-8")  # type: ignore[no-untyped-call]
        return text.removesuffix("# EOF\n")
    return generate_latest(_Collected(metrics)).decode("utf-8")
