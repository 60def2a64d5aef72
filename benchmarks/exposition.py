"""/metrics exposition and observe cost: tripod vs prometheus_client, same data, same run.

Run: .venv/bin/python benchmarks/exposition.py [--series 10000] [--repeat 15]

1. Rendering: one registry of each library holding identical data (counters, gauges and
   histograms, --series sample lines in all), rendered --repeat times; prints the best and
   median time, lines per second and the ratio, for text 0.0.4 and OpenMetrics. Both outputs are
   parsed back with prometheus_client's parser and must hold the same samples.
2. Observe cost: HttpServerMetrics.finish() per call (3 histogram observations and a gauge),
   with and without an exemplar, next to the same work done with prometheus_client.
3. Threads: 4 threads observing into one child and into 4 children; counts must be exact.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import threading
import time
from collections.abc import Callable

import prometheus_client
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from tripod.config import load_settings
from tripod.sdk import metrics
from tripod.sdk.metrics import Counter, Gauge, Histogram, MetricsRegistry
from tripod.sdk.metrics._children import HistogramChild

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
HIST_LINES = len(BUCKETS) + 1 + 2  # buckets incl. +Inf, _sum, _count


def build(series: int, seed: int = 1) -> tuple[MetricsRegistry, CollectorRegistry, int]:
    """Identical data in both libraries: 40% counter lines, 20% gauge, 40% histogram lines."""
    rng = random.Random(seed)
    n_counter = series * 4 // 10
    n_gauge = series * 2 // 10
    n_hist = (series - n_counter - n_gauge) // HIST_LINES
    ours = MetricsRegistry()
    theirs = CollectorRegistry()
    f = ours.factory
    c1 = ours.register(
        lambda f: Counter("bench_requests", "Requests.", ("service", "endpoint"), "", factory=f),
        Counter,
    )
    c2 = prometheus_client.Counter(
        "bench_requests", "Requests.", ("service", "endpoint"), registry=theirs
    )
    for i in range(n_counter):
        labels = (f"svc-{i % 17}", f'/api/v1/items/{i}/"detail"')
        amount = rng.randint(1, 10_000)
        c1.labels(*labels).inc(amount)
        c2.labels(*labels).inc(amount)
    g1 = ours.register(
        lambda f: Gauge("bench_queue_depth", "Queue depth.", ("shard",), "", factory=f), Gauge
    )
    g2 = prometheus_client.Gauge("bench_queue_depth", "Queue depth.", ("shard",), registry=theirs)
    for i in range(n_gauge):
        value = rng.random() * 1e6
        g1.labels(f"shard-{i}").set(value)
        g2.labels(f"shard-{i}").set(value)
    h1 = ours.register(
        lambda f: Histogram(
            "bench_latency_seconds", "Latency.", ("route", "status"), "", factory=f,
            buckets=BUCKETS,
        ),
        Histogram,
    )  # fmt: skip
    h2 = prometheus_client.Histogram(
        "bench_latency_seconds", "Latency.", ("route", "status"), buckets=BUCKETS, registry=theirs
    )
    for i in range(n_hist):
        labels = (f"/route/{i}", str(200 + i % 5))
        for _ in range(20):
            v = rng.expovariate(10.0)
            h1.labels(*labels).observe(v)
            h2.labels(*labels).observe(v)
    del f
    lines = n_counter + n_gauge + n_hist * HIST_LINES
    return ours, theirs, lines


def timeit(
    mine: Callable[[], object], other: Callable[[], object], repeat: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(best, median) seconds of each, runs interleaved so load from elsewhere hits both."""
    mine()
    other()  # warm up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((mine, times[0]), (other, times[1])):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    a, b = times
    return (min(a), statistics.median(a)), (min(b), statistics.median(b))


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def bench_render(series: int, repeat: int) -> None:
    prometheus_client.disable_created_metrics()  # tripod writes no _created lines in 0.0.4
    ours, theirs, lines = build(series)
    text_ours = ours.render(openmetrics=False).decode()
    text_theirs = prometheus_client.generate_latest(theirs).decode()
    a, b = samples(text_ours), samples(text_theirs)
    assert a == b, "the two outputs do not hold the same samples"
    print(f"render: {lines} series lines, outputs parse to identical samples ({len(a)})")
    for label, mine, other in (
        (
            "text 0.0.4",
            lambda: ours.render(False),
            lambda: prometheus_client.generate_latest(theirs),
        ),
        ("OpenMetrics", lambda: ours.render(True), lambda: generate_openmetrics(theirs)),
    ):
        (best_o, med_o), (best_t, med_t) = timeit(mine, other, repeat)
        print(
            f"  {label:12} tripod {best_o * 1e3:7.2f} ms (median {med_o * 1e3:6.2f}, "
            f"{lines / best_o:>10,.0f} lines/s) | prometheus_client {best_t * 1e3:7.2f} ms "
            f"(median {med_t * 1e3:6.2f}, {lines / best_t:>8,.0f} lines/s) | "
            f"ratio {best_t / best_o:4.1f}x (median {med_t / med_o:4.1f}x)"
        )


def bench_fixed_cost(repeat: int) -> None:
    """What every scrape of the process-wide registry pays besides the app's own series."""
    metrics.reset()
    metrics.configure(load_settings({}, environ={}, pyproject=False))  # the catalog's families
    ((best, median), _) = timeit(metrics.render, lambda: None, repeat)
    lines = metrics.render()[0].count(b"\n")
    print(
        f"fixed cost: metrics.render() with only the catalog + process/GC/platform metrics "
        f"({lines} lines): {best * 1e3:.2f} ms (median {median * 1e3:.2f})"
    )


def per_call(cases: dict[str, Callable[[], object]], n: int, rounds: int = 7) -> dict[str, float]:
    """µs per call of each case: best of ``rounds``, cases interleaved so drift hits all alike."""
    gc.collect()
    for fn in cases.values():
        for _ in range(1000):
            fn()
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(rounds):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / n * 1e6)
    return best


def bench_observe(n: int) -> None:
    metrics.reset()
    hm = metrics.http_server_metrics()
    tid, sid = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"

    def finish_plain() -> None:
        hm.start("GET")
        hm.finish("GET", "/orders/{id}", 200, 0.0123, request_size=120, response_size=2048)

    def finish_exemplar() -> None:
        hm.start("GET")
        hm.finish(
            "GET", "/orders/{id}", 200, 0.0123, request_size=120, response_size=2048,
            trace_id=tid, span_id=sid,
        )  # fmt: skip

    reg = CollectorRegistry()
    labels = ("method", "route", "status")
    d = prometheus_client.Histogram("d_seconds", "d", labels, registry=reg)
    q = prometheus_client.Histogram("q_bytes", "q", labels, registry=reg)
    r = prometheus_client.Histogram("r_bytes", "r", labels, registry=reg)
    a = prometheus_client.Gauge("a", "a", ("method",), registry=reg)

    def prometheus_client_same() -> None:
        a.labels("GET").inc()
        a.labels("GET").dec()
        d.labels("GET", "/orders/{id}", "200").observe(0.0123)
        q.labels("GET", "/orders/{id}", "200").observe(120)
        r.labels("GET", "/orders/{id}", "200").observe(2048)

    hist = metrics.histogram("bench_obs_seconds", "x", ("k",))
    child = hist.labels("v")
    results = per_call(
        {
            "start()+finish()": finish_plain,
            "start()+finish() with exemplar": finish_exemplar,
            "prometheus_client, same 5 updates": prometheus_client_same,
            "histogram child .observe()": lambda: child.observe(0.2),
            "histogram .labels('v').observe()": lambda: hist.labels("v").observe(0.2),
        },
        n,
    )
    print("observe cost (best of 7 interleaved runs):")
    for name, micros in results.items():
        print(f"  {name:34} {micros:5.2f} µs/call")


def bench_threads(per_thread: int) -> None:
    metrics.reset()
    hist = metrics.histogram("bench_threads_seconds", "x", ("k",))
    for label, keys in (("1 child ", ["a"] * 4), ("4 children", ["a", "b", "c", "d"])):
        hist.clear()

        def work(key: str) -> None:
            child = hist.labels(key)
            for _ in range(per_thread):
                child.observe(0.01)

        threads = [threading.Thread(target=work, args=(k,)) for k in keys]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        total = sum(sum(c.snapshot()[0]) for c in hist.children())
        assert total == 4 * per_thread, f"lost observations: {total} != {4 * per_thread}"
        print(
            f"threads: 4 threads x {per_thread} observe into {label}: {total} counted (exact), "
            f"{elapsed / total * 1e6:.2f} µs/observe"
        )


def bench_lock_granularity(per_thread: int) -> None:
    """Per-child locks (what tripod does) vs one lock shared by a family's children."""
    metrics.reset()
    hist = metrics.histogram("bench_locks_seconds", "x", ("k",))
    for label in ("per-child lock", "per-family lock"):
        hist.clear()
        children = [hist.labels(k) for k in "abcd"]
        if label == "per-family lock":
            shared = threading.Lock()
            for child in children:
                child._buckets._lock = shared  # type: ignore[attr-defined]

        def work(child: HistogramChild) -> None:
            for _ in range(per_thread):
                child.observe(0.01)

        threads = [threading.Thread(target=work, args=(c,)) for c in children]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        micros = elapsed / (4 * per_thread) * 1e6
        print(f"locks: 4 threads, 4 children, {label:15}: {micros:.2f} µs/observe")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--calls", type=int, default=50_000)
    args = parser.parse_args()
    bench_render(args.series, args.repeat)
    bench_fixed_cost(args.repeat)
    bench_observe(args.calls)
    bench_threads(100_000)
    bench_lock_granularity(100_000)


if __name__ == "__main__":
    main()
