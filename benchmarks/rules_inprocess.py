"""One rule evaluation round in process (no servers, no Prometheus): the data and rule file of
``benchmarks/rules.py`` put straight into a :class:`DuckSampleStore` in a temporary directory,
then the two groups evaluated twice through :class:`RuleManager`, the second round timed (a
server's steady state), with and without the per-group read cache. For profiling and quick
iteration; ``benchmarks/rules.py`` is the comparison with Prometheus.

Run: ``.venv/bin/python benchmarks/rules_inprocess.py [--scale 0.1] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.rules import rule_file, series  # noqa: E402

from tripod.server.promql import Engine  # noqa: E402
from tripod.server.rules import engine_query_func  # noqa: E402
from tripod.server.rules.manager import RuleManager  # noqa: E402
from tripod.server.rules.readcache import ReadCache  # noqa: E402
from tripod.server.store import Database, DuckSampleStore  # noqa: E402
from tripod.server.store.model import Sample  # noqa: E402


def build(store: DuckSampleStore, instances: int, start: int) -> int:
    rng = np.random.default_rng(12345)
    batch: list[Sample] = []
    n = 0
    for labels, samples in series(instances, start, rng):
        batch.extend(Sample(labels, t, v) for t, v in samples)
        n += 1
        if len(batch) >= 200_000:
            store.append(batch)
            batch = []
    store.append(batch)
    return n


def one_round(store: DuckSampleStore, rules: Path, now_ms: int, *, cached: bool) -> float:
    cache = ReadCache(store) if cached else None
    reader = cache if cache is not None else store
    manager = RuleManager(
        reader,
        engine_query_func(Engine(reader), 30_000),
        before_group=cache.clear if cache is not None else None,
    )
    assert manager.load([str(rules)]) == []
    manager.evaluate_due(now_ms)  # places the slots
    due = max(manager._next_ms.values())
    manager.evaluate_due(due)  # the first round also creates the recorded series
    t = time.perf_counter()
    manager.evaluate_due(due + 30_000)
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of the instances")
    parser.add_argument("--profile", action="store_true", help="cProfile the uncached round")
    parser.add_argument("--only", choices=["cached", "uncached"], default=None)
    args = parser.parse_args()
    instances = max(1, round(67 * args.scale))
    start = int(time.time())
    with tempfile.TemporaryDirectory(prefix="tripod-rules-inproc-") as tmp:
        db = Database(Path(tmp))
        store = DuckSampleStore(db)
        t = time.perf_counter()
        n = build(store, instances, start)
        print(f"data: {n:,} series in {time.perf_counter() - t:.1f}s")
        rules = Path(tmp) / "rules.yml"
        rules.write_text(rule_file())
        now_ms = start * 1000 + 60_000
        for cached in (False, True):
            if args.only and args.only != ("cached" if cached else "uncached"):
                continue
            profiler = cProfile.Profile() if args.profile else None
            if profiler is not None:
                profiler.enable()
            took = one_round(store, rules, now_ms + (60_000 if cached else 0), cached=cached)
            if profiler is not None:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            print(f"{'cached' if cached else 'uncached':<9} round: {took:.2f}s")
        db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
