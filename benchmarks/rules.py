"""Rule evaluation: one round of 1,000 recording + 200 alerting rules over ~100,000 series,
tripod vs a real Prometheus 2.42 on the same data and rule file, in the same run.

Data (seeded): ``http_requests_total``, ``http_request_duration_seconds_sum`` and ``_count`` for
100 routes x 5 statuses x 67 instances (100,500 series), one sample a minute from 6 minutes
before the start to 20 minutes after it (rules evaluate at the wall clock, so the data must
cover the run). Each batch of 2,000 series is remote-written to Prometheus, so the data sits in
its head where its rules can append their results too (backfilled blocks reaching into the future
would make Prometheus refuse the rules' samples as out of bounds), and imported into tripod as
exposition text. Both servers run their rules during the load; the rounds counted start after it.

Rules (one file, both servers): group ``red`` holds, per route x status, the request rate and the
mean latency (``sum by (route, status) (rate(...[5m]))``, 1,000 recording rules); group ``alerts``
holds, per route, an error-ratio and a latency alert (200 alerting rules, ``for: 5m``). Both groups
run every 30s. The round time is what each server reports for itself:
``sum(prometheus_rule_group_last_duration_seconds)`` over the two groups once each has run at
least ``--rounds`` more times after the load. Prometheus runs its groups concurrently on their
own goroutines; tripod runs them one after the other in one thread, so the sum of the group
durations is compared for both; the two servers evaluate at the same time on the same cores.

Run: ``.venv/bin/python benchmarks/rules.py [--scale 1.0] [--rounds 3]`` (≈ 10 minutes: tripod's
rounds are the long part). After the rounds both servers are asked for the count and sum of the
recorded series and the number of ``ALERTS`` series (which appear from the third round, after
the ``for`` state restore that follows the second, in both).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cramjam
import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conformance.staleness import _write_request_class  # noqa: E402
from tests.helpers.procs import Proc, start_prometheus, start_tripod_serve  # noqa: E402

Series = tuple[dict[str, str], list[tuple[int, float]]]

ROUTES = 100
STATUSES = ("200", "201", "404", "500", "503")
STEP = 60
BEFORE, AFTER = 6 * 60, 20 * 60
INTERVAL = "30s"
BATCH = 2000


def series(instances: int, start: int, rng: np.random.Generator) -> Iterator[Series]:
    """Every series with its samples (ms, value), one family after the other."""
    times = [t * 1000 for t in range(start - BEFORE, start + AFTER + 1, STEP)]
    for r in range(ROUTES):
        for status in STATUSES:
            per_step = 2.0 if status.startswith("5") and r % 10 == 0 else 20.0
            mean = 0.8 if r % 25 == 0 else 0.1
            for i in range(instances):
                labels = {"route": f"/r{r}", "status": status, "instance": f"i{i}"}
                counts = np.cumsum(rng.poisson(per_step, len(times))).astype(float)
                sums = counts * mean * (0.9 + 0.2 * rng.random())
                for name, values in (("http_requests_total", counts),
                                     ("http_request_duration_seconds_sum", sums),
                                     ("http_request_duration_seconds_count", counts)):  # fmt: skip
                    yield (
                        {"__name__": name, **labels},
                        list(zip(times, values.tolist(), strict=True)),
                    )


def bodies(instances: int, start: int, rng: np.random.Generator) -> Iterator[tuple[bytes, bytes]]:
    """The same ``BATCH`` series as a snappy remote-write body and as exposition text."""
    write_request = _write_request_class()
    req, count = write_request(), 0
    text: list[str] = []
    for labels, samples in series(instances, start, rng):
        ts = req.timeseries.add()
        for name, value in sorted(labels.items()):
            ts.labels.add(name=name, value=value)
        for t, v in samples:
            ts.samples.add(timestamp=t, value=v)
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
        key = f"{labels['__name__']}{{{inner}}}"
        text.extend(f"{key} {v:.17g} {t}\n" for t, v in samples)
        count += 1
        if count == BATCH:
            yield (
                bytes(cramjam.snappy.compress_raw(req.SerializeToString())),
                "".join(text).encode(),
            )
            req, text, count = write_request(), [], 0
    if count:
        yield bytes(cramjam.snappy.compress_raw(req.SerializeToString())), "".join(text).encode()


def load(prometheus: str, tripod: str, instances: int, start: int, rng: np.random.Generator) -> int:
    """Each batch remote-written to Prometheus (into its head) and imported into tripod (whose
    remote-write receiver refuses samples over 10 minutes ahead); returns the series count."""
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
               "X-Prometheus-Remote-Write-Version": "0.1.0"}  # fmt: skip
    n = 0
    with httpx.Client(timeout=600.0) as client:
        for proto, text in bodies(instances, start, rng):
            replies = [client.post(prometheus + "/api/v1/write", content=proto, headers=headers),
                       client.post(tripod + "/api/v1/import/prometheus", content=text)]  # fmt: skip
            for reply in replies:
                if reply.status_code >= 300:
                    msg = f"{reply.url} answered {reply.status_code}: {reply.text[:300]}"
                    raise RuntimeError(msg)
            n += BATCH
    return min(n, ROUTES * len(STATUSES) * instances * 3)


def rule_file() -> str:
    """1,000 recording rules (RED per route x status) and 200 alerting rules (2 per route)."""
    lines = ["groups:", "  - name: red", f"    interval: {INTERVAL}", "    rules:"]
    for r in range(ROUTES):
        for status in STATUSES:
            sel = f'route="/r{r}",status="{status}"'
            lines += [
                "      - record: route_status:http_requests:rate5m",
                f"        expr: sum by (route, status) (rate(http_requests_total{{{sel}}}[5m]))",
                "      - record: route_status:http_request_duration_seconds:mean5m",
                (
                    "        expr: sum by (route, status) (rate(http_request_duration_seconds_sum"
                    f"{{{sel}}}[5m])) / sum by (route, status) (rate("
                    f"http_request_duration_seconds_count{{{sel}}}[5m]))"
                ),
            ]
    lines += ["  - name: alerts", f"    interval: {INTERVAL}", "    rules:"]
    for r in range(ROUTES):
        sel = f'route="/r{r}"'
        lines += [
            "      - alert: HighErrorRate",
            (
                "        expr: sum by (route) (rate(http_requests_total"
                f'{{{sel},status=~"5.."}}[5m])) / sum by (route) (rate(http_requests_total'
                f"{{{sel}}}[5m])) > 0.05"
            ),
            "        for: 5m",
            "        labels: {severity: page}",
            (
                "        annotations: {summary: "
                '"{{ $labels.route }}: {{ $value | humanizePercentage }} errors"}'
            ),
            "      - alert: SlowRoute",
            (
                "        expr: sum by (route) (rate(http_request_duration_seconds_sum"
                f"{{{sel}}}[5m])) / sum by (route) (rate(http_request_duration_seconds_count"
                f"{{{sel}}}[5m])) > 0.5"
            ),
            "        for: 5m",
            "        labels: {severity: ticket}",
        ]
    return "\n".join(lines) + "\n"


def group_stats(url: str) -> dict[str, tuple[float, float]]:
    """Per rule group: (rounds run, last duration in seconds) from the server's /metrics;
    rounds run = ``iterations_total`` (which counts missed slots too) minus the missed ones."""
    text = httpx.get(url + "/metrics", timeout=300).text
    values: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith("prometheus_rule_group_") and "rule_group" in s.labels:
                values.setdefault(s.labels["rule_group"], {})[s.name] = s.value
    return {
        g: (v.get("prometheus_rule_group_iterations_total", 0.0)
            - v.get("prometheus_rule_group_iterations_missed_total", 0.0),
            v.get("prometheus_rule_group_last_duration_seconds", 0.0))
        for g, v in values.items()
    }  # fmt: skip


def wait_rounds(
    proc: Proc, loaded: dict[str, tuple[float, float]], rounds: int, deadline_s: float
) -> dict[str, tuple[float, float]]:
    """The stats once every group ran ``rounds`` more times than at ``loaded``."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        stats = group_stats(proc.url)
        done = [stats[g][0] >= loaded.get(g, (0.0, 0.0))[0] + rounds for g in stats]
        if len(stats) == 2 and all(done):
            return stats
        time.sleep(1.0)
    msg = f"{proc.url}: fewer than {rounds} rounds of both groups in {deadline_s:.0f}s"
    raise RuntimeError(msg)


def check(url: str) -> tuple[int, float, int]:
    """(recorded series, sum of the recorded rates, active alerts) as the server answers."""

    def value(query: str) -> float:
        result = httpx.get(url + "/api/v1/query", params={"query": query}, timeout=60).json()
        rows = result["data"]["result"]
        return float(rows[0]["value"][1]) if rows else 0.0

    return (int(value("count(route_status:http_requests:rate5m)")),
            value("sum(route_status:http_requests:rate5m)"),
            int(value("count(ALERTS)")))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the instances")
    parser.add_argument("--rounds", type=int, default=3, help="rounds before reading the time")
    args = parser.parse_args()
    instances = max(1, round(67 * args.scale))
    rng = np.random.default_rng(12345)
    start = int(time.time())
    with tempfile.TemporaryDirectory(prefix="tripod-bench-rules-") as tmp:
        work = Path(tmp)
        rules = work / "rules.yml"
        rules.write_text(rule_file())
        config = (f"global:\n  evaluation_interval: {INTERVAL}\nrule_files: [{rules}]\n"
                  "scrape_configs: []\n")  # fmt: skip
        prom = start_prometheus(work / "prom", config, "--web.enable-remote-write-receiver")
        tripod = start_tripod_serve(work / "tripod" / "data", "--rules", str(rules))
        try:
            t = time.perf_counter()
            n = load(prom.url, tripod.url, instances, start, rng)
            print(f"data: {n:,} series written to both in {time.perf_counter() - t:.1f}s")
            deadline = AFTER - (time.time() - start) - 60
            results = {}
            for name, proc in (("prometheus", prom), ("tripod", tripod)):
                loaded = group_stats(proc.url)
                results[name] = wait_rounds(proc, loaded, args.rounds, deadline)
            avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"\none round (sum of the groups' last durations), load {avg}")
            total = {}
            for name, stats in results.items():
                total[name] = sum(d for _, d in stats.values())
                parts = ", ".join(f"{g.rsplit(';', 1)[1]} {d * 1000:.0f} ms"
                                  for g, (_, d) in sorted(stats.items()))  # fmt: skip
                print(f"{name:<11} {total[name] * 1000:>9.0f} ms  ({parts})")
            print(f"ratio tripod / prometheus: {total['tripod'] / total['prometheus']:.2f}x")
            for name, proc in (("prometheus", prom), ("tripod", tripod)):
                count, rate_sum, alerts = check(proc.url)
                print(f"{name:<11} recorded series {count}, sum of rates {rate_sum:.1f}, "
                      f"active alerts {alerts}")  # fmt: skip
        finally:
            prom.stop()
            tripod.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
