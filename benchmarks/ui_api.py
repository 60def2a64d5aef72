"""The UI's trace detail for one 10,000-span trace over HTTP: the JSON form vs the column-wise
form (with and without attributes), response time (client wall-clock and server CPU) and size.

Run: ``.venv/bin/python benchmarks/ui_api.py [--spans 10000] [--rounds 15]``. Starts a real
`tripod serve` on a temporary data directory, sends one generated trace (three services, a
random tree, attributes on every span, an event on every tenth) through OTLP/JSON, then asks for
it in the three forms interleaved, ``--rounds`` times each; prints medians and sizes (raw and
gzip -6, as a proxy for what a compressing proxy would send).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
from tests.helpers.procs import start_tripod_serve  # noqa: E402
from tests.server.query.tracegen import big_trace  # noqa: E402

TRACE = "cd" * 16
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


FORMS = {
    "json": {},
    "columns": {"format": "columns"},
    "columns+attributes": {"format": "columns", "attributes": "true"},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, start_tripod_serve(Path(tmp) / "data") as proc:
        pid = proc.proc.pid
        r = httpx.post(proc.url + "/v1/traces", json=big_trace(TRACE, args.spans), timeout=120)
        r.raise_for_status()
        wall: dict[str, list[float]] = {k: [] for k in FORMS}
        cpu: dict[str, list[float]] = {k: [] for k in FORMS}
        size: dict[str, tuple[int, int]] = {}
        with httpx.Client(timeout=60) as client:
            for _ in range(args.rounds):
                for form, params in FORMS.items():
                    c0 = cpu_s(pid)
                    t0 = time.perf_counter()
                    reply = client.get(f"{proc.url}/api/v1/traces/{TRACE}", params=params)
                    wall[form].append(time.perf_counter() - t0)
                    cpu[form].append(cpu_s(pid) - c0)
                    reply.raise_for_status()
                    size[form] = (len(reply.content), len(gzip.compress(reply.content, 6)))
    print(f"one trace of {args.spans} spans, {args.rounds} interleaved rounds, medians")
    base = statistics.median(wall["json"])
    for form in FORMS:
        w, c = statistics.median(wall[form]), statistics.median(cpu[form])
        raw, gz = size[form]
        print(f"{form:20s} wall {w * 1000:7.1f} ms ({w / base:4.2f}x json)  server CPU "
              f"{c * 1000:7.1f} ms  size {raw / 1e6:6.2f} MB  gzip {gz / 1e6:5.2f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
