"""``tripod check`` speed: lines of Python per second over a big tree, next to the floor any
``ast``-based tool pays (reading and ``ast.parse`` of the same files), interleaved in one run.

Run: .venv/bin/python benchmarks/check.py [--rounds 5] [--packages django,celery,...]

The tree is a set of packages from this interpreter's site-packages (default: django, celery,
kombu, opentelemetry, starlette; about 290,000 lines). Each round runs the peer and then the
whole ``tripod check`` (Python, YAML and JSON files, every rule; above 4 MB of Python it parses
in one worker process per core); the figures are medians of wall-clock and CPU time (this
process plus its finished children), and the CPU ratio check/parse is taken per round.
"""

from __future__ import annotations

import argparse
import ast
import gc
import resource
import statistics
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

from tripod.check import Options, Report, run

DEFAULT = "django,celery,kombu,opentelemetry,starlette"


def parse_all(files: list[Path]) -> None:
    for path in files:
        try:
            ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue


def check_tree(roots: list[Path], out: list[Report]) -> None:
    out.append(run(roots, Options()))


def cpu_now() -> float:
    """CPU seconds of this process and of its finished children (check's parse workers)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[..., object], *args: object) -> tuple[float, float]:
    gc.collect()
    wall, cpu = time.perf_counter(), cpu_now()
    fn(*args)
    return time.perf_counter() - wall, cpu_now() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--packages", default=DEFAULT)
    args = parser.parse_args()
    site = Path(sysconfig.get_paths()["purelib"])
    roots = [site / p for p in args.packages.split(",") if (site / p).is_dir()]
    files = sorted(f for r in roots for f in r.rglob("*.py"))
    lines = sum(f.read_bytes().count(b"\n") for f in files)
    print(f"tree: {', '.join(r.name for r in roots)}: {len(files)} files, {lines:,} lines")
    rows: dict[str, list[tuple[float, float]]] = {"ast.parse": [], "tripod check": []}
    findings = 0
    for _ in range(args.rounds):
        rows["ast.parse"].append(timed(parse_all, files))
        reports: list[Report] = []
        rows["tripod check"].append(timed(check_tree, roots, reports))
        findings = len(reports[0].findings)
    for name, runs in rows.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(
            f"{name:13s} wall {wall:6.2f} s = {lines / wall:9,.0f} lines/s   "
            f"cpu {cpu:6.2f} s = {lines / cpu:9,.0f} lines/s"
        )
    ratios = [c[1] / p[1] for p, c in zip(rows["ast.parse"], rows["tripod check"], strict=True)]
    print(f"check / parse CPU ratio per round: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"findings on the tree: {findings}")


if __name__ == "__main__":
    main()
