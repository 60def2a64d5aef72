"""Randomly composed PromQL queries over the generated metrics, reproducible from a seed.

A small grammar: selectors (with matchers), range functions over counters and gauges, instant
functions, aggregations with ``by``/``without`` and parameters, binary operators between vectors
(with ``on``/``ignoring``/``group_left``) and scalars, set operators, offsets and subqueries.
Each expression tracks its output labels so most vector/vector operations are well-formed; those
that are not (many-to-many, duplicate label sets) stay in: errors must match too.

``python -m tests.conformance.querygen [N] [SEED]`` prints the queries.
"""

from __future__ import annotations

import dataclasses
import random
import sys

SEED = 4242
COUNT = 150

COUNTERS: dict[str, tuple[str, ...]] = {
    "conf_http_requests_total": ("job", "instance", "code"),
    "conf_cpu_seconds_total": ("job", "instance", "mode"),
    "conf_request_duration_seconds_bucket": ("job", "instance", "le"),
}
GAUGES: dict[str, tuple[str, ...]] = {
    "conf_temperature_celsius": ("job", "instance", "sensor"),
    "conf_queue_depth": ("job", "instance", "queue"),
    "conf_up": ("job", "instance"),
}
MATCHERS: dict[str, list[str]] = {
    "job": ['job="api"', 'job!="api"', 'job=~"w.*"'],
    "instance": ['instance=~"10.0.0.[12]:9100"', 'instance!="10.0.0.3:9100"'],
    "code": ['code="200"', 'code=~"[45].."', 'code!~"2.."'],
    "mode": ['mode!="idle"', 'mode="user"'],
    "sensor": ['sensor="inlet"'],
    "queue": ['queue=~"e.*"'],
    "le": ['le=~"0.1|1.0|\\\\+Inf"'],
}
DURATIONS = ("30s", "1m", "2m", "5m", "7m30s", "10m", "1h")
COUNTER_FNS = ("rate", "irate", "increase", "resets", "changes")
GAUGE_FNS = ("delta", "idelta", "deriv", "avg_over_time", "min_over_time", "max_over_time",
             "sum_over_time", "count_over_time", "stddev_over_time", "stdvar_over_time",
             "last_over_time", "changes", "present_over_time")  # fmt: skip
INSTANT_FNS = ("abs", "ceil", "floor", "round", "sgn", "sqrt", "exp", "ln", "log2", "log10",
               "timestamp", "minute", "hour", "day_of_week", "sort", "sort_desc")  # fmt: skip
AGGS = ("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar")
ARITH = ("+", "-", "*", "/", "%", "^", "atan2")
COMPARE = ("==", "!=", ">", "<", ">=", "<=")


@dataclasses.dataclass(frozen=True)
class Expr:
    """Query text and the labels its series carry (``__name__`` not counted)."""

    text: str
    labels: frozenset[str]


class QueryGen:
    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)

    def pick(self, items: tuple[str, ...] | list[str]) -> str:
        return items[self.rng.randrange(len(items))]

    def selector(self, metrics: dict[str, tuple[str, ...]]) -> tuple[str, frozenset[str]]:
        name = self.pick(list(metrics))
        labels = metrics[name]
        matchers = [self.pick(MATCHERS[lb]) for lb in labels if self.rng.random() < 0.25]
        text = f"{name}{{{','.join(matchers)}}}" if matchers else name
        return text, frozenset(labels)

    def offset(self) -> str:
        roll = self.rng.random()
        if roll < 0.12:
            return f" offset {self.pick(('1m', '5m', '30m', '-2m'))}"
        if roll < 0.16:
            return self.pick((" @ start()", " @ end()", " @ 1704072600"))
        return ""

    def leaf(self) -> Expr:
        roll = self.rng.random()
        if roll < 0.4:
            sel, labels = self.selector(COUNTERS)
            fn = self.pick(COUNTER_FNS)
            return Expr(f"{fn}({sel}[{self.pick(DURATIONS)}]{self.offset()})", labels)
        if roll < 0.75:
            sel, labels = self.selector(GAUGES)
            fn = self.pick(GAUGE_FNS)
            if self.rng.random() < 0.15:
                fn = f"quantile_over_time({self.pick(('0.1', '0.5', '0.95'))}, "
                return Expr(f"{fn}{sel}[{self.pick(DURATIONS)}])", labels)
            return Expr(f"{fn}({sel}[{self.pick(DURATIONS)}]{self.offset()})", labels)
        if roll < 0.85:
            sel, labels = self.selector(GAUGES)
            return Expr(sel + self.offset(), labels)
        return self.special()

    def special(self) -> Expr:
        """The functions with extra arguments: histograms, labels, clamps, predictions."""
        kind = self.rng.randrange(7)
        d = self.pick(DURATIONS[1:])
        if kind == 0:
            by = self.pick(("le", "le, job", "le, instance"))
            q = self.pick(("0.5", "0.9", "0.99", "0", "1"))
            rate = f"rate(conf_request_duration_seconds_bucket[{d}])"
            text = f"histogram_quantile({q}, sum by ({by}) ({rate}))"
            return Expr(text, frozenset(by.split(", ")) - {"le"})
        if kind == 1:
            inner = self.leaf()
            text = f'label_replace({inner.text}, "host", "$1", "instance", "(.*):.*")'
            return Expr(text, inner.labels | {"host"})
        if kind == 2:
            inner = self.leaf()
            lo, hi = sorted(self.rng.sample((-5, 0, 1, 10, 50), 2))
            return Expr(f"clamp({inner.text}, {lo}, {hi})", inner.labels)
        sel, labels = self.selector(GAUGES)
        if kind == 3:
            return Expr(f"predict_linear({sel}[{d}], {self.pick(('60', '-300', '3600'))})", labels)
        if kind == 4:
            return Expr(f"holt_winters({sel}[{d}], {self.pick(('0.1', '0.5'))}, 0.7)", labels)
        if kind == 5:
            other, _ = self.selector(GAUGES)
            return Expr(f"{sel} * scalar(sum({other}))", labels)
        return Expr(f"max_over_time({sel}[{d}:1m] @ end())", labels)

    def aggregate(self, inner: Expr) -> Expr:
        op = self.pick(AGGS)
        roll = self.rng.random()
        if roll < 0.12:
            op, param = self.pick(("topk", "bottomk")), f"{self.rng.randrange(1, 4)}, "
        elif roll < 0.2:
            op, param = "quantile", f"{self.pick(('0.25', '0.5', '0.9'))}, "
        else:
            param = ""
        grouping = sorted(inner.labels)
        chosen = [lb for lb in grouping if self.rng.random() < 0.45]
        if op in ("topk", "bottomk"):
            keep = inner.labels
        elif self.rng.random() < 0.6:
            keep = frozenset(chosen)
        else:
            keep = inner.labels - frozenset(chosen)
            return Expr(f"{op} without ({', '.join(chosen)}) ({param}{inner.text})", keep)
        by = f" by ({', '.join(chosen)})" if op not in ("topk", "bottomk") or chosen else ""
        return Expr(f"{op}{by} ({param}{inner.text})", keep)

    def vector(self, depth: int) -> Expr:
        roll = self.rng.random()
        if depth <= 0 or roll < 0.3:
            return self.leaf()
        if roll < 0.5:
            return self.aggregate(self.vector(depth - 1))
        if roll < 0.62:
            inner = self.vector(depth - 1)
            return Expr(f"{self.pick(INSTANT_FNS)}({inner.text})", inner.labels)
        if roll < 0.72:
            inner = self.vector(depth - 1)
            op = self.pick(ARITH + COMPARE)
            num = self.pick(("0", "1", "2", "0.5", "-3", "100"))
            bool_ = " bool" if op in COMPARE and self.rng.random() < 0.5 else ""
            if self.rng.random() < 0.5:
                return Expr(f"{inner.text} {op}{bool_} {num}", inner.labels)
            return Expr(f"{num} {op}{bool_} {inner.text}", inner.labels)
        if roll < 0.8:
            inner = self.leaf()
            return Expr(f"max_over_time(({inner.text})[15m:{self.pick(('1m', '30s'))}])",
                        inner.labels)  # fmt: skip
        return self.binary(depth - 1)

    def binary(self, depth: int) -> Expr:
        left = self.vector(depth)
        right = self.vector(depth)
        common = sorted(left.labels & right.labels)
        on = [lb for lb in common if self.rng.random() < 0.6]
        roll = self.rng.random()
        if roll < 0.25:
            op = self.pick(("and", "or", "unless"))
            match = f" on ({', '.join(on)})" if self.rng.random() < 0.5 else ""
            return Expr(f"({left.text}) {op}{match} ({right.text})", left.labels | right.labels)
        op = self.pick(ARITH + COMPARE)
        bool_ = " bool" if op in COMPARE and self.rng.random() < 0.4 else ""
        if roll < 0.6:
            agg = self.pick(("sum", "max", "avg", "count"))
            grouped = f"{agg} by ({', '.join(on)}) ({right.text})"
            return Expr(f"({left.text}) {op}{bool_} on ({', '.join(on)}) group_left {grouped}",
                        left.labels)  # fmt: skip
        if roll < 0.68:  # unaggregated: may be many-to-many, which must fail alike
            match = self.pick(("on", "ignoring"))
            return Expr(f"({left.text}) {op}{bool_} {match} ({', '.join(on)}) ({right.text})",
                        left.labels)  # fmt: skip
        if roll < 0.8:
            agg = self.pick(("sum", "max", "min"))
            lhs = f"{agg} by ({', '.join(on)}) ({left.text})"
            rhs = f"{agg} by ({', '.join(on)}) ({right.text})"
            return Expr(f"{lhs} {op}{bool_} {rhs}", frozenset(on))
        other = left.text.replace("[", "[", 1)
        return Expr(f"({left.text}) {op}{bool_} ({other})", left.labels)

    def query(self) -> str:
        return self.vector(self.rng.randrange(1, 4)).text


def generate(count: int = COUNT, seed: int = SEED) -> list[str]:
    """``count`` distinct queries, the same for the same seed."""
    gen = QueryGen(seed)
    seen: dict[str, None] = {}
    while len(seen) < count:
        seen.setdefault(gen.query())
    return list(seen)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else COUNT
    s = int(sys.argv[2]) if len(sys.argv) > 2 else SEED
    print("\n".join(generate(n, s)))
