"""Staleness data: series that vanish with Prometheus's stale-marker NaN, sent by remote write.

promtool's backfill cannot write staleness markers, so this part of the data goes to both stores
through Prometheus remote write v1 (protobuf + snappy, the wire format, built here with protobuf's
own descriptor machinery). Prometheus's head only appends samples near its newest time, so the data
sits in the last hour before "now" and is sent oldest first, in time slices.
"""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Any

import cramjam
import httpx
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from tests.conformance.case import Case

STALE_NAN_BITS = 0x7FF0000000000002
SPAN_S = 50 * 60
STEP_S = 15
SLICE_S = 5 * 60
SEED = 99

# name -> (stale from, resume at) in seconds from the start; None: never.
STALE_PLAN = {
    "a": (20 * 60, 30 * 60),  # marker, 10 m of silence, back
    "b": (40 * 60, None),  # marker, gone for good
    "c": (None, None),  # plain gap of 8 m without a marker
    "d": (12 * 60, 12 * 60 + 15),  # marker, back at the next scrape
    "e": (None, None),  # never stale
}


def _write_request_class() -> Any:
    """prometheus.WriteRequest (prompb/remote.proto, types.proto) as a dynamic message class."""
    fdp = descriptor_pb2.FileDescriptorProto(name="conformance_prompb.proto", package="prompb")
    f = descriptor_pb2.FieldDescriptorProto
    opt, rep = f.LABEL_OPTIONAL, f.LABEL_REPEATED

    def message(name: str, *fields: tuple[str, int, int, int, str]) -> None:
        msg = fdp.message_type.add(name=name)
        for fname, number, label, ftype, type_name in fields:
            field = msg.field.add(name=fname, number=number, label=label, type=ftype)
            if type_name:
                field.type_name = type_name

    message("Label", ("name", 1, opt, f.TYPE_STRING, ""), ("value", 2, opt, f.TYPE_STRING, ""))
    message("Sample", ("value", 1, opt, f.TYPE_DOUBLE, ""), ("timestamp", 2, opt, f.TYPE_INT64, ""))
    message("TimeSeries", ("labels", 1, rep, f.TYPE_MESSAGE, ".prompb.Label"),
            ("samples", 2, rep, f.TYPE_MESSAGE, ".prompb.Sample"))  # fmt: skip
    message("WriteRequest", ("timeseries", 1, rep, f.TYPE_MESSAGE, ".prompb.TimeSeries"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prompb.WriteRequest"))


@dataclasses.dataclass
class StaleData:
    """Samples per series (labels -> [(ms, value)]) and the start of their time span."""

    start_s: int
    series: dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]


def stale_nan() -> float:
    import struct

    return float(struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0])


def build(now_s: float | None = None, seed: int = SEED) -> StaleData:
    """Gauges and counters following STALE_PLAN, ending a few minutes before ``now_s``."""
    now = int(now_s if now_s is not None else time.time())
    start = (now - SPAN_S - 5 * 60) // 60 * 60
    rng = random.Random(seed)
    series: dict[tuple[tuple[str, str], ...], list[tuple[int, float]]] = {}
    for name, (stale_at, resume_at) in STALE_PLAN.items():
        gauge_key = (("__name__", "conf_stale_gauge"), ("series", name))
        counter_key = (("__name__", "conf_stale_requests_total"), ("series", name))
        gauge: list[tuple[int, float]] = []
        counter: list[tuple[int, float]] = []
        total = float(rng.randrange(100))
        for off in range(0, SPAN_S + 1, STEP_S):
            ms = (start + off) * 1000
            if name == "c" and 15 * 60 <= off < 23 * 60:
                continue
            if stale_at is not None and off >= stale_at and (resume_at is None or off < resume_at):
                if off == stale_at:
                    gauge.append((ms, stale_nan()))
                    counter.append((ms, stale_nan()))
                continue
            total += rng.randrange(0, 20)
            gauge.append((ms, round(rng.uniform(-5, 50), 3)))
            counter.append((ms, total))
        series[gauge_key] = gauge
        series[counter_key] = counter
    # The edge-moment shapes (moments.py) travel in the same requests: one data load.
    from tests.conformance import moments

    series.update(moments.series(start, SPAN_S, stale_nan()))
    return StaleData(start, series)


def send(url: str, data: StaleData) -> None:
    """Remote-write ``data`` to ``url``/api/v1/write, oldest slice first."""
    write_request = _write_request_class()
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
               "X-Prometheus-Remote-Write-Version": "0.1.0"}  # fmt: skip
    with httpx.Client(base_url=url, timeout=60.0) as client:
        for lo in range(data.start_s * 1000, (data.start_s + SPAN_S + 1) * 1000, SLICE_S * 1000):
            req = write_request()
            for key, samples in data.series.items():
                chunk = [(t, v) for t, v in samples if lo <= t < lo + SLICE_S * 1000]
                if not chunk:
                    continue
                ts = req.timeseries.add()
                for name, value in key:
                    ts.labels.add(name=name, value=value)
                for t, v in chunk:
                    ts.samples.add(timestamp=t, value=v)
            body = bytes(cramjam.snappy.compress_raw(req.SerializeToString()))
            response = client.post("/api/v1/write", content=body, headers=headers)
            if response.status_code >= 300:
                msg = f"remote write to {url} answered {response.status_code}: {response.text}"
                raise RuntimeError(msg)


def eval_times(start_s: int) -> tuple[tuple[float, ...], tuple[tuple[float, float, float], ...]]:
    """Instant times around each marker, and range windows, for a data set starting at start_s."""
    instants = tuple(start_s + off for off in (
        12 * 60 + 5, 19 * 60 + 59, 20 * 60, 20 * 60 + 1, 24 * 60, 26 * 60, 30 * 60 + 7,
        40 * 60 + 30, 44 * 60 + 59, 46 * 60,
    ))  # fmt: skip
    ranges = ((start_s, start_s + SPAN_S + 300, 15.0), (start_s + 7.5, start_s + SPAN_S, 43.0))
    return instants, ranges


G = "conf_stale_gauge"
C = "conf_stale_requests_total"
# fmt: off
CASES: list[Case] = [Case(q, section="staleness") for q in (
    G,
    f"{G} offset 5m",
    f"timestamp({G})",
    f"sum({G})",
    f"count({G})",
    f'absent({G}{{series="a"}})',
    f"{G} > 10",
    f"rate({C}[5m])",
    f"irate({C}[2m])",
    f"increase({C}[10m])",
    f"resets({C}[30m])",
    f"changes({G}[10m])",
    f"count_over_time({G}[5m])",
    f"last_over_time({G}[10m])",
    f"max_over_time({G}[5m])",
    f"avg_over_time({G}[3m])",
    f"present_over_time({G}[1m])",
    f"absent_over_time({G}{{series=\"b\"}}[5m])",
    f"idelta({G}[1m])",
    f"deriv({G}[5m])",
    f"max_over_time({G}[10m:1m])",
    f"count_over_time(({G} > 0)[10m:30s])",
    f"{G} and {C}",
    f"{G} * on (series) group_left rate({C}[5m])",
)]
# Windows holding only a staleness marker: b's [30s] window at 40:30 (and at the 15 s step after
# 40:00) sees the marker alone, a's [15s] window at 20:01 too; a single series is selected so that
# nothing else is left once the markers are dropped.
_B = '{series="b"}[30s]'
_A = '{series="a"}[15s]'
CASES += [Case(q, section="staleness") for q in (
    *(f"{fn}({C}{_B})" for fn in ("rate", "increase", "irate", "resets")),
    *(f"{fn}({G}{_B})" for fn in (
        "delta", "idelta", "deriv", "changes", "count_over_time", "sum_over_time",
        "avg_over_time", "min_over_time", "max_over_time", "stddev_over_time",
        "stdvar_over_time", "last_over_time", "present_over_time", "absent_over_time",
    )),
    f"predict_linear({G}{_B}, 60)",
    f"holt_winters({G}{_B}, 0.5, 0.5)",
    f"quantile_over_time(0.5, {G}{_B})",
    *(f"{fn}({C}{_A})" for fn in ("rate", "increase", "resets", "changes", "delta")),
    f"sum(rate({C}{_B}))",
    f"max_over_time(rate({C}{_B})[2m:15s])",
)]
# fmt: on
