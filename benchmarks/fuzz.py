"""Long fuzz run for docs/server.md ("Fuzzing"): the targets of tests/server/fuzz against one real
`tripod serve`, many inputs each, with the count of answers by status class.

Run: .venv/bin/python benchmarks/fuzz.py [--examples 100000] [TARGET ...]
(targets by name or prefix, e.g. remote-write, otlp-protobuf, promql; default: every target).
Exit status 1 and the failing input on the first 5xx or hang; the server must still store after
each target.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.server.fuzz.cases import EXPOSITION_SEED, TARGETS, Stats, Target, run, still_stores
from tests.server.fuzz.test_fuzz import serve_fuzz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("targets", nargs="*", help="target names or prefixes (default: all)")
    args = parser.parse_args()
    wanted = tuple(args.targets)
    chosen = [n for n in sorted(TARGETS) if not wanted or n.startswith(wanted)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_fuzz(Path(tmp)) as proc,
        httpx.Client(base_url=proc.url, timeout=30.0) as client,
    ):
        TARGETS["import-text"].send(client, (EXPOSITION_SEED.encode(), "text/plain"))
        for name in chosen:
            stats = Stats()
            start = time.perf_counter()
            failed = ""
            target = TARGETS[name]
            send = target.send

            def counted(
                http: httpx.Client,
                example: object,
                send: Any = send,
                stats: Stats = stats,
                name: str = name,
            ) -> httpx.Response:
                if stats.sent and stats.sent % 5000 == 0:
                    print(f"  {name}: {stats.sent} requests, {stats.by_status}", flush=True)
                return send(http, example)  # type: ignore[no-any-return]

            try:
                run(Target(name, target.strategy, counted), client, args.examples, stats)
                still_stores(client)
            except AssertionError as exc:
                failed = str(exc).splitlines()[0][:400]
            took = time.perf_counter() - start
            classes = ", ".join(f"{k}: {v}" for k, v in sorted(stats.by_status.items()))
            print(
                f"{name}: {stats.sent} requests in {took:.0f} s ({classes}); "
                f"hangs {stats.hangs}, 503 timeouts {stats.timeouts_503}"
                + (f"; FAILED: {failed}" if failed else "; still stores"),
                flush=True,
            )
            if failed:
                print(proc.log()[-3000:])
                raise SystemExit(1)


if __name__ == "__main__":
    main()
