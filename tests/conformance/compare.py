"""Compare two Prometheus HTTP API answers the way the conformance bar defines "equal".

Same status; for errors the same HTTP status and ``errorType``; for results the same
``resultType``, the same set of label sets, the same timestamps, and values equal within 1e-9
relative (NaN equals NaN, infinities equal by sign). Where Prometheus defines an order
(``sort``, ``sort_desc``, top-level ``topk``/``bottomk``), the sequence of values must match too.
Each difference is returned as one readable line; no differences means equal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tests.conformance.harness import Answer

REL_TOL = 1e-9
#: Summation order differs between engines; results that should be 0 may come out as 1e-17.
ABS_TOL = 1e-12
MAX_LINES = 12

LabelKey = tuple[tuple[str, str], ...]


def _key(metric: dict[str, str]) -> LabelKey:
    return tuple(sorted(metric.items()))


def _show(key: LabelKey) -> str:
    name = dict(key).get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in key if k != "__name__")
    return f"{name}{{{rest}}}"


def _num(text: Any) -> float:
    return float(text)


def values_equal(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _point_diff(where: str, ref: Sequence[Any], got: Sequence[Any]) -> str | None:
    if abs(float(ref[0]) - float(got[0])) > 5e-4:
        return f"{where}: timestamp prometheus={ref[0]} tripod={got[0]}"
    if not values_equal(_num(ref[1]), _num(got[1])):
        return f"{where} @{ref[0]}: prometheus={ref[1]} tripod={got[1]}"
    return None


def _series_diff(result_type: str, ref: list[Any], got: list[Any]) -> list[str]:
    ref_map = {_key(s["metric"]): s for s in ref}
    got_map = {_key(s["metric"]): s for s in got}
    out: list[str] = []
    if len(ref_map) != len(ref):
        out.append("prometheus answered duplicate label sets")
    if len(got_map) != len(got):
        out.append(
            f"tripod answered duplicate label sets ({len(got)} series, {len(got_map)} distinct)"
        )
    out += [f"missing in tripod: {_show(k)}" for k in ref_map.keys() - got_map.keys()]
    out += [f"extra in tripod:   {_show(k)}" for k in got_map.keys() - ref_map.keys()]
    for key in sorted(ref_map.keys() & got_map.keys()):
        where = _show(key)
        if result_type == "vector":
            diff = _point_diff(where, ref_map[key]["value"], got_map[key]["value"])
            if diff:
                out.append(diff)
            continue
        ref_pts, got_pts = ref_map[key]["values"], got_map[key]["values"]
        ref_ts = [float(p[0]) for p in ref_pts]
        got_ts = [float(p[0]) for p in got_pts]
        if ref_ts != got_ts:
            only_ref = sorted(set(ref_ts) - set(got_ts))[:4]
            only_got = sorted(set(got_ts) - set(ref_ts))[:4]
            out.append(f"{where}: {len(ref_ts)} vs {len(got_ts)} points; only prometheus at "
                       f"{only_ref}, only tripod at {only_got}")  # fmt: skip
            continue
        for r, g in zip(ref_pts, got_pts, strict=True):
            diff = _point_diff(where, r, g)
            if diff:
                out.append(diff)
                break
    return out


def _order_diff(ref: list[Any], got: list[Any]) -> list[str]:
    ref_vals = [_num(s["value"][1]) for s in ref]
    got_vals = [_num(s["value"][1]) for s in got]
    if len(ref_vals) == len(got_vals) and all(map(values_equal, ref_vals, got_vals)):
        return []
    return [f"order differs: prometheus {ref_vals[:8]} tripod {got_vals[:8]}"]


def _label_order_diff(ref: list[Any], got: list[Any]) -> list[str]:
    for i, (r, g) in enumerate(zip(ref, got, strict=True)):
        if _key(r["metric"]) != _key(g["metric"]):
            where = f"label order differs at #{i}"
            return [
                f"{where}: prometheus {_show(_key(r['metric']))} tripod {_show(_key(g['metric']))}"
            ]
    return []


def _values_by_time(result_type: str, result: list[Any]) -> dict[float, list[float]]:
    points: dict[float, list[float]] = {}
    for s in result:
        for p in [s["value"]] if result_type == "vector" else s["values"]:
            points.setdefault(float(p[0]), []).append(_num(p[1]))
    return {t: sorted(v, key=lambda x: (math.isnan(x), x)) for t, v in points.items()}


def _ties_diff(result_type: str, ref: list[Any], got: list[Any]) -> list[str]:
    """Compare only the multiset of values at each timestamp (for selections among ties)."""
    ref_pts, got_pts = _values_by_time(result_type, ref), _values_by_time(result_type, got)
    if ref_pts.keys() != got_pts.keys():
        return [f"timestamps differ: {sorted(ref_pts.keys() ^ got_pts.keys())[:4]}"]
    for t in sorted(ref_pts):
        r, g = ref_pts[t], got_pts[t]
        if len(r) != len(g) or not all(map(values_equal, r, g)):
            return [f"values at {t}: prometheus {r[:6]} tripod {g[:6]}"]
    return []


def diff(
    ref: Answer, got: Answer, *, ordered: bool = False, ties: bool = False, exact: bool = False
) -> list[str]:
    """Differences between Prometheus's answer ``ref`` and tripod's ``got``; [] when equal.

    ``ties``: the query selects among equal values (topk/bottomk), where Prometheus's choice of
    series is not deterministic; only the values at each timestamp are compared. ``exact``: an
    instant vector's label sets must also come in the same order (ties included).
    """
    if got.status == "invalid":
        return [f"tripod did not answer in the API envelope (HTTP {got.http_status}): {got.error}"]
    if ref.status != got.status:
        detail = ref.error if ref.status == "error" else got.error
        return [f"status prometheus={ref.status} tripod={got.status} ({detail})"]
    if ref.status == "error":
        out = []
        if ref.error_type != got.error_type or ref.http_status != got.http_status:
            out.append(f"error prometheus={ref.http_status} {ref.error_type} "
                       f"tripod={got.http_status} {got.error_type}")  # fmt: skip
            out.append(f"  prometheus: {ref.error}")
            out.append(f"  tripod:     {got.error}")
        return out
    if ref.result_type != got.result_type:
        return [f"resultType prometheus={ref.result_type} tripod={got.result_type}"]
    if ref.result_type in ("scalar", "string"):
        if ref.result_type == "string":
            same = ref.result == got.result
            return [] if same else [f"string prometheus={ref.result} tripod={got.result}"]
        d = _point_diff("scalar", ref.result, got.result)
        return [d] if d else []
    if ties:
        return _ties_diff(str(ref.result_type), ref.result or [], got.result or [])
    out = _series_diff(str(ref.result_type), ref.result or [], got.result or [])
    if ordered and not out and ref.result_type == "vector":
        out = _order_diff(ref.result or [], got.result or [])
    if exact and not out and ref.result_type == "vector":
        out = _label_order_diff(ref.result or [], got.result or [])
    return out


def render(query: str, label: str, lines: list[str], ref: Answer) -> str:
    """A short, readable failure report for one evaluation."""
    head = f"{label}: {query}"
    more = f"\n  ... {len(lines) - MAX_LINES} more" if len(lines) > MAX_LINES else ""
    size = len(ref.result) if isinstance(ref.result, list) and ref.result_type != "scalar" else ""
    body = "\n  ".join(lines[:MAX_LINES])
    return f"{head}\n  ({ref.result_type or ref.status} {size})\n  {body}{more}"
