"""/metrics scrape time after many worker deaths: tripod's multi-process mode vs
prometheus_client's multiprocess mode, same workload, same run.

Run: .venv/bin/python benchmarks/multiprocess.py [--restarts 1000] [--series 20]

Each "worker" is a forked process that increments one counter series (of --series) and exits,
as under gunicorn ``--max-requests 1``. prometheus_client gets ``mark_process_dead`` for each
dead pid, as its docs ask (gunicorn's ``child_exit`` hook); tripod gets nothing (a scrape every
100 restarts folds the dead). Prints the first and last scrape time (best of 5), the files left
in the directory, and checks both totals equal the restarts + 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

_PROM = """
import os, sys, time
from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families
restarts, series = int(sys.argv[1]), int(sys.argv[2])
counter = Counter("jobs", "Jobs.", ["s"])
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry)
def scrape():
    best = min(_timed() for _ in range(5))
    return best
def _timed():
    t = time.perf_counter(); generate_latest(registry); return time.perf_counter() - t
counter.labels("0").inc()
first = scrape()
for i in range(restarts):
    pid = os.fork()
    if pid == 0:
        counter.labels(str(i % series)).inc(); os._exit(0)
    os.waitpid(pid, 0)
    multiprocess.mark_process_dead(pid)
last = scrape()
text = generate_latest(registry).decode()
total = sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == "jobs_total")
print(first, last, len(os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"])), total)
"""


def _tripod(directory: str, restarts: int, series: int) -> tuple[float, float, int, float]:
    from prometheus_client.parser import text_string_to_metric_families

    from tripod.sdk.metrics import MetricsRegistry
    from tripod.sdk.metrics._instruments import Counter
    from tripod.sdk.metrics._multiprocess import MultiProcessValueFactory

    factory = MultiProcessValueFactory(directory, process_metrics=False)
    registry = MetricsRegistry(factory=factory)
    counter = registry.register(lambda f: Counter("jobs", "Jobs.", ["s"], "", factory=f), Counter)

    def scrape() -> float:
        return min(_timed(lambda: registry.render(openmetrics=False)) for _ in range(5))

    counter.labels("0").inc()
    first = scrape()
    for i in range(restarts):
        pid = os.fork()
        if pid == 0:
            counter.labels(str(i % series)).inc()
            os._exit(0)
        os.waitpid(pid, 0)
        if i % 100 == 99:
            registry.render(openmetrics=False)
    last = scrape()
    text = registry.render(openmetrics=False).decode()
    total = sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "jobs_total"
    )
    return first, last, len(os.listdir(directory)), total


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--restarts", type=int, default=1000)
    parser.add_argument("--series", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as ours, tempfile.TemporaryDirectory() as theirs:
        first, last, files, total = _tripod(ours, args.restarts, args.series)
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": theirs}
        done = subprocess.run(
            [sys.executable, "-c", _PROM, str(args.restarts), str(args.series)],
            env=env, capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
        p_first, p_last, p_files, p_total = (float(x) for x in done.stdout.split())
    expected = args.restarts + 1
    assert total == expected, (total, expected)
    assert p_total == expected, (p_total, expected)
    print(f"{args.restarts} worker restarts, {args.series} series; scrape time best of 5")
    print(
        f"tripod            first {first * 1e3:7.2f} ms  last {last * 1e3:7.2f} ms  files {files}"
    )
    print(
        f"prometheus_client first {p_first * 1e3:7.2f} ms  last {p_last * 1e3:7.2f} ms  "
        f"files {int(p_files)}"
    )


if __name__ == "__main__":
    main()
