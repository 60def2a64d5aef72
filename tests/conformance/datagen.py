"""Seeded, reproducible test data for the PromQL conformance suite, written as one OpenMetrics file.

The same file is loaded into Prometheus (``promtool tsdb create-blocks-from openmetrics``) and into
tripod (``POST /api/v1/import/prometheus`` with the OpenMetrics content type), so both stores hold
identical samples. The data exercises what PromQL semantics hinge on: counters that reset, gauges
that go negative, missing scrapes shorter and longer than the 5-minute lookback, series that start
and stop mid-range, scrape jitter (rate extrapolation), classic histograms with ``+Inf``, several
jobs/instances, and a separate gauge holding NaN and infinities.

Run as a script to write the file: ``python -m tests.conformance.datagen OUT.om [--seed N]``.
"""

from __future__ import annotations

import dataclasses
import math
import random
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

#: 2024-01-01T00:00:00Z: old enough that neither store's head window gets in the way, aligned to
#: Prometheus's 2 h block boundaries.
EPOCH_S = 1_704_067_200
DURATION_S = 3 * 3600
STEP_S = 15
SEED = 20240101

JOBS = ("api", "worker")
INSTANCES = ("10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.3:9100")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclasses.dataclass
class Series:
    """One series: labels without ``__name__``, and samples as (timestamp ms, value)."""

    labels: dict[str, str]
    samples: list[tuple[int, float]]


@dataclasses.dataclass
class Family:
    """A metric family as OpenMetrics writes it: name, type, help and its series by sample name."""

    name: str
    type: str
    help: str
    series: list[tuple[str, Series]] = dataclasses.field(default_factory=list)


def _exact_ms(ms: int) -> int:
    """Nudge ``ms`` until ``seconds * 1000`` gives it back by truncation and by rounding alike.

    promtool parses OpenMetrics seconds as a float and truncates ``ts * 1000``; an importer may
    round. Only timestamps where both agree keep the two stores' data identical.
    """
    while True:
        as_float = float(_fmt_ts(ms)) * 1000.0
        if int(as_float) == ms and round(as_float) == ms:
            return ms
        ms += 1


def _fmt_ts(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def _fmt_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class _Gen:
    """Draws every random choice from one seeded generator, in a fixed order."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.n = DURATION_S // STEP_S + 1

    def timeline(self, *, jitter: bool, allow_partial: bool = True) -> list[int | None]:
        """Scrape timestamps (ms) of one series; ``None`` where a scrape is missing."""
        offset = self.rng.randrange(0, 15_000, 250) if jitter else 0
        times: list[int | None] = []
        for i in range(self.n):
            base = (EPOCH_S + i * STEP_S) * 1000 + offset
            wobble = self.rng.randrange(-120, 121) if jitter else 0
            times.append(_exact_ms(base + wobble))
        # Short gaps (inside the 5 m lookback) and one long gap (beyond it).
        for _ in range(self.rng.randrange(0, 3)):
            start = self.rng.randrange(0, self.n - 5)
            for k in range(start, start + self.rng.randrange(1, 4)):
                times[k] = None
        if self.rng.random() < 0.3:
            start = self.rng.randrange(0, self.n - 40)
            for k in range(start, start + self.rng.randrange(22, 40)):
                times[k] = None
        if allow_partial:
            roll = self.rng.random()
            if roll < 0.12:  # starts mid-range
                cut = self.rng.randrange(self.n // 4, self.n // 2)
                times[:cut] = [None] * cut
            elif roll < 0.24:  # stops mid-range
                cut = self.rng.randrange(self.n // 2, 3 * self.n // 4)
                times[cut:] = [None] * (self.n - cut)
        return times

    def counter(self, times: list[int | None], rate: float, *, integer: bool) -> list[float]:
        """A counter growing at about ``rate`` per second, resetting now and then."""
        value = float(self.rng.randrange(0, 1000)) if integer else self.rng.uniform(0, 50)
        values: list[float] = []
        for t in times:
            if t is None:
                values.append(math.nan)
                continue
            if self.rng.random() < 0.004:  # process restart
                value = 0.0
            inc = self.np.poisson(rate * STEP_S) if integer else self.np.gamma(2.0, rate * 7.5)
            value += float(inc)
            values.append(value if integer else round(value, 6))
        return values

    def gauge(self, times: list[int | None], mean: float, spread: float) -> list[float]:
        """A mean-reverting random walk; may cross zero."""
        value = mean + self.rng.gauss(0, spread)
        values: list[float] = []
        for _ in times:
            value += 0.2 * (mean - value) + self.rng.gauss(0, spread * 0.3)
            values.append(round(value, 4))
        return values


def _attach(series: Series, times: list[int | None], values: list[float]) -> Series:
    series.samples = [(t, v) for t, v in zip(times, values, strict=True) if t is not None]
    return series


def build(seed: int = SEED) -> list[Family]:
    """Every metric family of the data set, deterministically from ``seed``."""
    g = _Gen(seed)
    families: list[Family] = []

    requests = Family("conf_http_requests", "counter", "HTTP requests served.")
    for job in JOBS:
        for inst in INSTANCES:
            for code in ("200", "404", "500"):
                rate = {"200": 5.0, "404": 0.5, "500": 0.1}[code]
                times = g.timeline(jitter=True)
                s = Series({"job": job, "instance": inst, "code": code}, [])
                _attach(s, times, g.counter(times, rate, integer=True))
                requests.series.append(("conf_http_requests_total", s))
    families.append(requests)

    cpu = Family("conf_cpu_seconds", "counter", "CPU time spent, by mode.")
    for job in JOBS:
        for inst in INSTANCES:
            for mode in ("user", "system", "idle"):
                times = g.timeline(jitter=True)
                s = Series({"job": job, "instance": inst, "mode": mode}, [])
                _attach(s, times, g.counter(times, 0.3, integer=False))
                cpu.series.append(("conf_cpu_seconds_total", s))
    families.append(cpu)

    temp = Family("conf_temperature_celsius", "gauge", "Sensor temperature; may be negative.")
    for job in JOBS:
        for inst in INSTANCES:
            for sensor in ("inlet", "outlet"):
                times = g.timeline(jitter=False)
                mean = g.rng.uniform(-10, 40)
                s = Series({"job": job, "instance": inst, "sensor": sensor}, [])
                _attach(s, times, g.gauge(times, mean, 4.0))
                temp.series.append(("conf_temperature_celsius", s))
    families.append(temp)

    queue = Family("conf_queue_depth", "gauge", "Items waiting, integer valued.")
    for job in JOBS:
        for inst in INSTANCES:
            for queue_name in ("email", "sms"):
                times = g.timeline(jitter=False)
                values = [float(max(0, round(v))) for v in g.gauge(times, 6.0, 3.0)]
                s = Series({"job": job, "instance": inst, "queue": queue_name}, [])
                _attach(s, times, values)
                queue.series.append(("conf_queue_depth", s))
    families.append(queue)

    up = Family("conf_up", "gauge", "1 when the target answered.")
    for job in JOBS:
        for inst in INSTANCES:
            times = g.timeline(jitter=False, allow_partial=False)
            values = [0.0 if g.rng.random() < 0.05 else 1.0 for _ in times]
            _attach(s := Series({"job": job, "instance": inst}, []), times, values)
            up.series.append(("conf_up", s))
    families.append(up)

    info = Family("conf_build_info", "gauge", "Build information; value 1.")
    for i, inst in enumerate(INSTANCES):
        for job in JOBS:
            times = g.timeline(jitter=False, allow_partial=False)
            labels = {"job": job, "instance": inst, "version": f"1.{i}.{len(job)}",
                      "path": f"/srv/{job}/bin-{i}", "owner": "team-" + "ab"[i % 2]}  # fmt: skip
            _attach(s := Series(labels, []), times, [1.0] * len(times))
            info.series.append(("conf_build_info", s))
    families.append(info)

    weird = Family("conf_weird_values", "gauge", "Special floats: NaN, +Inf, -Inf, tiny, huge.")
    specials = (math.nan, math.inf, -math.inf, 1e-300, -1e300, 0.0, -0.5)
    for kind in ("nan", "inf", "mixed"):
        times = g.timeline(jitter=False, allow_partial=False)
        values = []
        for i, _ in enumerate(times):
            if kind == "nan":
                values.append(math.nan if i % 7 == 3 else float(i % 11))
            elif kind == "inf":
                values.append(math.inf if i % 13 == 5 else -math.inf if i % 13 == 9 else 2.5)
            else:
                values.append(specials[i % len(specials)])
        _attach(s := Series({"kind": kind}, []), times, values)
        weird.series.append(("conf_weird_values", s))
    families.append(weird)

    families.append(_histograms(g))
    families += _edge_families(g)
    return families


def _constant(g: _Gen, labels: dict[str, str], value: float) -> Series:
    times = g.timeline(jitter=False, allow_partial=False)
    return _attach(Series(labels, []), times, [value] * len(times))


def _edge_families(g: _Gen) -> list[Family]:
    """Hand-shaped corner cases: odd bucket layouts, sparse counters, label escaping."""
    edge = Family("conf_edge_bucket", "gauge", "Bucket layouts histogram_quantile must cope with.")
    layouts: dict[str, list[tuple[str, float]]] = {
        "nonmonotonic": [("0.1", 10), ("0.5", 8), ("1", 15), ("+Inf", 20)],
        "no_inf": [("0.1", 5), ("1", 10)],
        "all_zero": [("0.1", 0), ("1", 0), ("+Inf", 0)],
        "duplicate_le": [("0.5", 3), ("1", 4), ("1.0", 5), ("+Inf", 12)],
        "inf_only": [("+Inf", 7)],
        "nan_count": [("0.1", 1), ("1", math.nan), ("+Inf", 9)],
        "negative_le": [("-1", 2), ("0", 5), ("1", 9), ("+Inf", 10)],
        "top_heavy": [("0.1", 1), ("1", 2), ("+Inf", 100)],
        "single_finite": [("0.25", 4), ("+Inf", 4)],
        "unparsable_le": [("abc", 1), ("0.5", 3), ("1", 5), ("+Inf", 10)],
        "le_spellings": [("1e-1", 2), ("5.0e-1", 4), ("1.0", 5), ("+inf", 9)],
    }
    for case, buckets in layouts.items():
        for le, count in buckets:
            edge.series.append(("conf_edge_bucket", _constant(g, {"case": case, "le": le}, count)))

    sparse = Family("conf_sparse", "counter", "Counters with too few samples or odd resets.")
    n = g.n
    base = EPOCH_S * 1000
    shapes: dict[str, list[tuple[int, float]]] = {
        "one": [(base + 3600_000, 5.0)],
        "two": [(base + 3600_000, 5.0), (base + 3630_000, 9.0)],
        "zero_start": [(base + (240 + i) * 15_000, float(3 * i)) for i in range(n - 240)],
        "partial_reset": [
            (base + i * 15_000, float(100 + i - (60 if i >= 300 else 0))) for i in range(n)
        ],
        "flat": [(base + i * 15_000, 42.0) for i in range(n)],
        "every_minute": [(base + i * 60_000, float(i * i)) for i in range(n // 4)],
    }
    for shape, samples in shapes.items():
        sparse.series.append(("conf_sparse_total", Series({"shape": shape}, samples)))

    escape = Family("conf_label_escape", "gauge", "Label values needing escapes.")
    odd_values = ('quote"inside', "back\\slash", "new\nline", "ünïcødé ✓", "with space",
                  "{braces},=", "trailing\\")  # fmt: skip
    for i, value in enumerate(odd_values):
        escape.series.append(("conf_label_escape", _constant(g, {"v": value}, float(i))))
    return [edge, sparse, escape]


def _histograms(g: _Gen) -> Family:
    """Classic histograms: cumulative, monotonic buckets up to ``+Inf`` plus _sum and _count."""
    fam = Family("conf_request_duration_seconds", "histogram", "Request latency.")
    for job in JOBS:
        for inst in INSTANCES:
            times = g.timeline(jitter=True)
            bounds = np.array(BUCKETS)
            counts = np.zeros(len(BUCKETS) + 1)
            total = 0.0
            per_bucket: list[list[float]] = [[] for _ in range(len(BUCKETS) + 1)]
            sums: list[float] = []
            scale = g.rng.uniform(0.02, 0.5)
            for t in times:
                if t is not None and g.rng.random() < 0.004:
                    counts[:] = 0
                    total = 0.0
                n = int(g.np.poisson(20))
                obs = g.np.lognormal(math.log(scale), 1.0, n)
                counts += np.bincount(np.searchsorted(bounds, obs), minlength=len(counts))
                total = round(total + float(obs.sum()), 6)
                cumulative = np.cumsum(counts)
                for k in range(len(counts)):
                    per_bucket[k].append(float(cumulative[k]))
                sums.append(total)
            base = {"job": job, "instance": inst}
            for k, le in enumerate((*BUCKETS, math.inf)):
                le_text = "+Inf" if math.isinf(le) else repr(le)
                s = Series({**base, "le": le_text}, [])
                fam.series.append(("conf_request_duration_seconds_bucket",
                                   _attach(s, times, per_bucket[k])))  # fmt: skip
            fam.series.append(("conf_request_duration_seconds_sum",
                               _attach(Series(dict(base), []), times, sums)))  # fmt: skip
            fam.series.append(("conf_request_duration_seconds_count",
                               _attach(Series(dict(base), []), times, per_bucket[-1])))  # fmt: skip
    return fam


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics_lines(families: list[Family]) -> Iterator[str]:
    """OpenMetrics 1.0 text: families contiguous, each series' samples in time order."""
    for fam in families:
        yield f"# HELP {fam.name} {fam.help}"
        yield f"# TYPE {fam.name} {fam.type}"
        for name, series in fam.series:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in series.labels.items())
            prefix = f"{name}{{{labels}}}"
            for ts, value in series.samples:
                yield f"{prefix} {_fmt_value(value)} {_fmt_ts(ts)}"
    yield "# EOF"


def write_openmetrics(path: Path, seed: int = SEED) -> int:
    """Write the data set to ``path``; returns the number of samples written."""
    families = build(seed)
    lines = list(openmetrics_lines(families))
    path.write_text("\n".join(lines) + "\n")
    return sum(len(s.samples) for fam in families for _, s in fam.series)


def time_range_s() -> tuple[float, float]:
    """First and last scrape time of the data set, in seconds."""
    return float(EPOCH_S), float(EPOCH_S + DURATION_S)


def main(argv: list[str]) -> int:
    if not argv or len(argv) not in (1, 3):
        print("usage: python -m tests.conformance.datagen OUT.om [--seed N]", file=sys.stderr)
        return 2
    seed = int(argv[2]) if len(argv) == 3 else SEED
    count = write_openmetrics(Path(argv[0]), seed)
    print(f"wrote {count} samples to {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
