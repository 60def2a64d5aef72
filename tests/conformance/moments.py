"""Edge moments: every range function at the instants where a window's content changes.

The data (``conf_moment{shape, kind}``) is remote-written together with the staleness data (same
request, same load; see staleness.py), each shape placing its one event at the anchor A, 30 min
into that data: a lone sample, a sample then a staleness marker, a counter reset (to a smaller
value, to 0, twice in a row), a gap shorter and one longer than the 5 m lookback, two samples 1 ms
apart, NaN/±Inf, a constant, a counter crossing zero. The cases evaluate every range function of
Prometheus 2.42 as instant queries at ``MOMENTS`` (A - 1 ms, A, A + 1 ms, between scrapes, on
the next scrape and 1 ms before/after it, right after each marker, at the end of the gaps and of
the lookback) with windows from 1 s (smaller than the 15 s scrape interval) to 5 m, plain and
aggregated; plus a seeded random generator of (function, window, moment, wrapper).

``TRIPOD_CONFORMANCE_MOMENT_FUZZ=N`` (default ``FUZZ_COUNT``) and ``..._MOMENT_SEED`` (default
``FUZZ_SEED``) choose the random cases: the long mode is e.g. N=5000 with a new seed.
"""

# ruff: noqa: E501  (one case per line reads better than wrapped calls)
from __future__ import annotations

import dataclasses
import math
import os
import random
import re

from tests.conformance.case import Case, Kinds

M = "conf_moment"
#: The shapes with one or two samples (and a marker): alone in a query, their windows at the
#: moments hold nothing, only a staleness marker, or one sample.
SPARSE = 'conf_moment{shape=~"single.*|pair_stale"}'
#: The events' time, seconds from the start of the remote-written data.
ANCHOR_S = 30 * 60
STEP_MS = 15_000
SEED = 7

# fmt: off
# Instants, in seconds from the anchor A (the 15 s scrape grid has samples at A + 15 k).
# (Timestamps are compared as ``timestamp(...) - <A>``: compare.py's 1e-9 relative tolerance
# would let 1.8 s pass on a raw unix time.)
MOMENTS: tuple[float, ...] = (
    -0.001, 0, 0.001, 1, 5, 7.5, 14.999, 15, 15.001, 16, 30, 30.001,
    60, 120, 120.001, 300, 300.001, 315.001, 420, 420.001,
)
#: Around the sparse shapes' events (samples at A - 15 s and A, markers at A + 15 s).
SPARSE_MOMENTS: tuple[float, ...] = (-0.001, 0, 0.001, 1, 5, 14.999, 15, 15.001, 16, 30, 300.001, 315.001)
#: For the aggregated forms: a smaller set of the same moments.
AGG_MOMENTS: tuple[float, ...] = (-0.001, 0, 0.001, 5, 15, 15.001, 30.001, 120.001, 300.001, 420.001)
# fmt: on


Key = tuple[tuple[str, str], ...]


def series(start_s: int, span_s: int, stale: float) -> dict[Key, list[tuple[int, float]]]:
    """The shapes, as ``labels -> [(ms, value)]`` sorted by time (``stale`` is the marker NaN)."""
    rng = random.Random(SEED)
    base = start_s * 1000
    a = ANCHOR_S * 1000
    grid = list(range(0, span_s * 1000 + 1, STEP_MS))
    before = [t for t in grid if t <= a]

    def after(t0: int) -> list[int]:
        return [t for t in grid if t >= t0]

    def counter(times: list[int], value: float = 0.0) -> list[tuple[int, float]]:
        out = []
        for t in times:
            value += rng.randrange(1, 20)
            out.append((t, value))
        return out

    def gauge(times: list[int]) -> list[tuple[int, float]]:
        return [(t, round(rng.uniform(-5, 50), 3)) for t in times]

    # fmt: off
    shapes: dict[tuple[str, str], list[tuple[int, float]]] = {
        ("single", "gauge"): [(a, 7.5)],
        ("single_stale", "gauge"): [(a, 4.0), (a + STEP_MS, stale)],
        ("pair_stale", "counter"): [(a - STEP_MS, 3.0), (a, 5.0), (a + STEP_MS, stale)],
        ("stale_end", "counter"): [*counter(before), (a + STEP_MS, stale)],
        ("stale_back", "gauge"): [*gauge(before), (a + STEP_MS, stale), *gauge(after(a + 2 * STEP_MS))],
        ("reset", "counter"): [*counter(before[:-1], 100.0), (a, 1.0), *counter(after(a + STEP_MS), 1.0)],
        ("reset_zero", "counter"): [*counter(before[:-1], 50.0), (a, 0.0), *counter(after(a + STEP_MS))],
        ("double_reset", "counter"): [*counter(before[:-1], 500.0), (a, 4.0), (a + STEP_MS, 1.0), *counter(after(a + 2 * STEP_MS), 1.0)],
        ("gap_short", "counter"): counter(before + after(a + 120_000)),
        ("gap_long", "gauge"): gauge(before + after(a + 420_000)),
        ("close", "counter"): counter(sorted([*grid, a + 1])),
        ("nan", "gauge"): [(t, {a: math.nan, a + STEP_MS: math.inf, a + 2 * STEP_MS: -math.inf}.get(t, v)) for t, v in gauge(grid)],
        ("flat", "gauge"): [(t, 3.0) for t in grid],
        ("negative", "counter"): [(t, (t - a) / 30_000) for t in grid],
    }
    # fmt: on
    out: dict[Key, list[tuple[int, float]]] = {}
    for (shape, kind), samples in shapes.items():
        key = (("__name__", M), ("kind", kind), ("shape", shape))
        out[key] = [(base + t, v) for t, v in samples]
    return out


def instants(start_s: int, moments: tuple[float, ...] = MOMENTS) -> tuple[float, ...]:
    anchor = start_s + ANCHOR_S
    return tuple(anchor + m for m in moments)


def ranges(start_s: int) -> tuple[tuple[float, float, float], ...]:
    """A range query across the events, at an unaligned step smaller than the scrapes."""
    anchor = start_s + ANCHOR_S
    return ((anchor - 30.5, anchor + 450, 4.25),)


_AT = re.compile(r"<A([+-][0-9.]+)?>")


def resolve(query: str, start_s: int) -> str:
    """``<A>``/``<A+15>`` in a query: the anchor (plus seconds) as a unix time for ``@``."""
    anchor = start_s + ANCHOR_S
    return _AT.sub(lambda m: f"{anchor + float(m.group(1) or 0):.3f}", query)


WINDOWS = ("1s", "5s", "15s", "1m", "5m")
#: Every function of Prometheus 2.42 taking a range vector, as a template over ``{r}``.
FUNCTIONS: dict[str, str] = {
    "rate": "rate({r})",
    "irate": "irate({r})",
    "increase": "increase({r})",
    "delta": "delta({r})",
    "idelta": "idelta({r})",
    "deriv": "deriv({r})",
    "predict_linear": "predict_linear({r}, 60)",
    "resets": "resets({r})",
    "changes": "changes({r})",
    "avg_over_time": "avg_over_time({r})",
    "min_over_time": "min_over_time({r})",
    "max_over_time": "max_over_time({r})",
    "sum_over_time": "sum_over_time({r})",
    "count_over_time": "count_over_time({r})",
    "stddev_over_time": "stddev_over_time({r})",
    "stdvar_over_time": "stdvar_over_time({r})",
    "last_over_time": "last_over_time({r})",
    "present_over_time": "present_over_time({r})",
    "quantile_over_time": "quantile_over_time(0.5, {r})",
    "absent_over_time": "absent_over_time({r})",
    "holt_winters": "holt_winters({r}, 0.5, 0.5)",
}
AGGREGATIONS = ("sum by (kind) ({f})", "avg({f})", "count by (kind) ({f})")


def _case(query: str, moments: tuple[float, ...] = MOMENTS, kinds: Kinds = "both") -> Case:
    return Case(query, kinds, section="moments", at=moments)


# fmt: off
def cases() -> list[Case]:
    out: list[Case] = []
    # every range function x every window, at every moment (and one range query); then the same
    # over the sparse shapes alone, where a whole query's windows can hold nothing, only
    # markers or one sample each (no other series left to fill the arrays)
    for template in FUNCTIONS.values():
        for w in WINDOWS:
            out.append(_case(template.format(r=f"{M}[{w}]")))
            out.append(_case(template.format(r=f"{SPARSE}[{w}]"), SPARSE_MOMENTS, "instant"))
    # the raw windows themselves (an instant query of a range selector answers a matrix)
    out += [_case(q, kinds="instant") for q in (f"{M}[1s]", f"{M}[5s]", f"{M}[15s]", f"{M}[1m] offset 15s")]
    # absent_over_time of one shape, so that "absent" can be the answer
    for shape in ("single", "single_stale", "pair_stale", "gap_long"):
        for w in ("1s", "15s", "5m"):
            out.append(_case(f'absent_over_time({M}{{shape="{shape}"}}[{w}])', AGG_MOMENTS, "instant"))
    # aggregated forms of every function
    for template in FUNCTIONS.values():
        for agg, sel in zip(AGGREGATIONS, (f"{SPARSE}[5s]", f"{M}[15s]", f"{SPARSE}[1m]"), strict=True):
            out.append(_case(agg.format(f=template.format(r=sel)), AGG_MOMENTS, "instant"))
    out += [_case(q, AGG_MOMENTS, "instant") for q in (
        f"sum(rate({M}[1s]))",
        f"sum(rate({M}[5s]))",
        f"sum(rate({SPARSE}[1s]))",
        f"sum(rate({SPARSE}[15s]))",
        f"sum(increase({M}[5m]))",
        f"sum by (kind) (irate({M}[16s]))",
    )]
    # instant selectors and timestamps at the same moments (lookback, markers)
    out += [_case(q) for q in (
        M,
        f"{M} offset 1s",
        f"{M} offset 15s",
        f"timestamp({M})",
        f"timestamp({M}) - <A>",
        f"timestamp({M} offset 15s) - <A>",
        f"timestamp(last_over_time({M}[1m])) - <A>",
        f"timestamp(rate({M}[1m])) - <A>",
        f"count({M})",
        f"sum by (kind) ({M})",
    )]
    # offset and @ forms (``<A+s>`` is the anchor plus s seconds, as a unix time)
    out += [_case(q, AGG_MOMENTS, "instant") for q in (
        f"rate({M}[15s] offset 15s)",
        f"increase({M}[1m] offset 1ms)",
        f"count_over_time({M}[5s] offset -15s)",
        f"rate({M}[15s] @ <A+15>)",
        f"irate({M}[16s] @ <A+15.001>)",
        f"changes({M}[1m] @ <A>)",
        f"last_over_time({M}[5s] @ <A+15>)",
        f"resets({M}[30s] @ <A+15> offset 1ms)",
        f"deriv({M}[1m] @ <A+60>)",
        f"predict_linear({M}[1m] @ <A+60>, 30)",
        f"{M} @ <A+15>",
        f"timestamp({M} @ <A+15>) - <A>",
        f"timestamp({M} @ <A+30> offset 15s) - <A>",
        f"sum by (kind) (rate({M}[1m] @ <A+15>))",
    )]
    # subqueries over the same moments
    out += [_case(q, AGG_MOMENTS) for q in (
        f"max_over_time(rate({M}[15s])[1m:5s])",
        f"rate({M}[1m:15s])",
        f"count_over_time({M}[30s:1s])",
        f"last_over_time(irate({M}[16s])[20s:5s])",
        f"sum_over_time(changes({M}[15s])[1m:])",
    )]
    # argument edges Prometheus checks per call: an invalid factor fails only where a window
    # holds a sample; a quantile outside [0, 1] is ±Inf
    # (error=True: the Prometheus-only self-check then wants an error at some moment, not all)
    out += [dataclasses.replace(_case(q, AGG_MOMENTS, "instant"), error=True) for q in (
        f'holt_winters({M}{{shape="single"}}[5s], 0, 0.5)',
        f'holt_winters({M}{{shape="single_stale"}}[1s], 0.5, 1)',
    )]
    out += [_case(q, AGG_MOMENTS, "instant") for q in (
        f"quantile_over_time(-1, {M}[5s])",
        f"quantile_over_time(NaN, {M}[15s])",
        f"predict_linear({M}[15s], -60)",
    )]
    return out
# fmt: on


FUZZ_SEED = 1360
FUZZ_COUNT = 300
# fmt: off
_FUZZ_WINDOWS = ("1ms", "999ms", "1s", "2s", "5s", "7s500ms", "14s", "15s", "15001ms", "16s", "29s", "30s", "45s", "1m", "90s", "2m", "5m", "7m", "10m")
_FUZZ_WRAPPERS = ("{f}", "{f}", "{f}", "sum({f})", "sum by (kind) ({f})", "avg by (shape) ({f})", "count({f})", "max by (kind) ({f})", "-{f}", "{f} > 0", "timestamp({f}) - <A>")
_FUZZ_SHAPES = ("", "", "", '{shape="single"}', '{shape="reset"}', '{kind="counter"}', '{shape=~"single.*|pair_stale"}', '{shape="nan"}', '{shape="stale_end"}', '{shape="gap_long"}')
_FUZZ_MODIFIERS = ("", "", "", "", " offset 1ms", " offset 15s", " offset -1s", " @ <A>", " @ <A+15.001>", " @ <A+30> offset 15s")
#: Functions whose extra arguments the generator varies (Prometheus's own edge values).
_FUZZ_ARGS = {
    "predict_linear": ("predict_linear({r}, {x})", ("0", "60", "-60", "1e9")),
    "quantile_over_time": ("quantile_over_time({x}, {r})", ("0", "0.25", "1", "-1", "2", "NaN")),
    "holt_winters": ("holt_winters({r}, {x})", ("0.1, 0.9", "0.5, 0.5", "0.9, 0.1", "0, 0.5", "0.5, 1")),
}
# fmt: on


def _fuzz_range(rng: random.Random) -> str:
    """A range: a selector (maybe offset or @) or, one time in six, a subquery."""
    selector = f"{M}{rng.choice(_FUZZ_SHAPES)}"
    if rng.random() < 1 / 6:
        inner = rng.choice((selector, f"rate({selector}[15s])", f"changes({selector}[5s])"))
        return f"({inner})[{rng.choice(('30s', '1m', '5m'))}:{rng.choice(('', '1s', '5s', '15s', '7s'))}]"
    return f"{selector}[{rng.choice(_FUZZ_WINDOWS)}]{rng.choice(_FUZZ_MODIFIERS)}"


def fuzz_cases(count: int = FUZZ_COUNT, seed: int = FUZZ_SEED) -> list[Case]:
    """``count`` random (function, range, moment, wrapper) instant cases from ``seed``."""
    rng = random.Random(seed)
    names = sorted(FUNCTIONS)
    out = []
    for _ in range(count):
        name = rng.choice(names)
        r = _fuzz_range(rng)
        if name in _FUZZ_ARGS:
            template, values = _FUZZ_ARGS[name]
            call = template.format(r=r, x=rng.choice(values))
        else:
            call = FUNCTIONS[name].format(r=r)
        query = rng.choice(_FUZZ_WRAPPERS).format(f=call)
        moment = rng.choice(MOMENTS) + rng.choice(
            (0.0, 0.0, 0.001, -0.001, round(rng.uniform(-20, 20), 3))
        )
        out.append(Case(query, "instant", section="moments_fuzz", at=(round(moment, 3),)))
    return out


def all_fuzz_cases() -> list[Case]:
    count = int(os.environ.get("TRIPOD_CONFORMANCE_MOMENT_FUZZ", FUZZ_COUNT))
    seed = int(os.environ.get("TRIPOD_CONFORMANCE_MOMENT_SEED", FUZZ_SEED))
    return fuzz_cases(count, seed)
