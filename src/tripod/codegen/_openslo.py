"""OpenSLO v1 as an input format: ``SLO`` documents (and the ``SLI`` documents they reference)
become entries of the description's ``slos`` list.

tripod builds every SLI from the metric catalog, so an OpenSLO indicator is accepted when its
ratio reads ``http_server_request_duration_seconds`` the way tripod's own SLOs do: total = the
``_count`` series; good = ``_bucket{le="<bound>"}`` (a latency SLO) or ``_count`` without 5xx
(``http_response_status_code!~"5.."``), or bad = ``_count`` with 5xx (availability). Anything
else is refused in one line naming the document and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import promql_parser as pp
import yaml

from tripod.catalog import HTTP_SERVER_REQUEST_DURATION
from tripod.codegen._errors import GenerateError, bad
from tripod.codegen._yamlio import StrictLoader

_COUNT = f"{HTTP_SERVER_REQUEST_DURATION.name}_count"
_BUCKET = f"{HTTP_SERVER_REQUEST_DURATION.name}_bucket"
_EXPECTED_RATIO = (
    f"a ratioMetric over {HTTP_SERVER_REQUEST_DURATION.name}: total {_COUNT}; good "
    f'{_BUCKET}{{le="<bound>"}} or {_COUNT} with http_response_status_code!~"5..", '
    f'or bad {_COUNT} with http_response_status_code=~"5.."'
)


def _selectors(node: object) -> Iterator[Any]:
    if isinstance(node, pp.VectorSelector):
        yield node
    elif isinstance(node, pp.MatrixSelector):
        yield node.vector_selector
    elif isinstance(node, pp.Call):
        for arg in node.args:
            yield from _selectors(arg)
    elif isinstance(node, pp.AggregateExpr | pp.ParenExpr):
        yield from _selectors(node.expr)
    elif isinstance(node, pp.BinaryExpr):
        yield from _selectors(node.lhs)
        yield from _selectors(node.rhs)


def _selector(source: Any, where: str) -> tuple[str, dict[tuple[str, str], str]]:
    """The one series selector of a Prometheus metric source: name, {(label, op): value}."""
    spec = source.get("metricSource", {}) if isinstance(source, Mapping) else {}
    kind = str(spec.get("type", "")).lower() if isinstance(spec, Mapping) else ""
    query = spec.get("spec", {}).get("query") if kind == "prometheus" else None
    if not isinstance(query, str):
        raise bad(where, source, "a metricSource of type Prometheus with spec.query")
    try:
        found = list(_selectors(pp.parse(query)))
    except (ValueError, RuntimeError) as exc:
        raise bad(where + ".metricSource.spec.query", query, f"PromQL ({exc})") from None
    if len(found) != 1:
        raise bad(where + ".metricSource.spec.query", query, "a query reading one series selector")
    sel = found[0]
    ops = {
        "MatchOp.Equal": "=",
        "MatchOp.NotEqual": "!=",
        "MatchOp.Re": "=~",
        "MatchOp.NotRe": "!~",
    }
    matchers = {(m.name, ops.get(str(m.op), "?")): m.value for m in sel.matchers.matchers}
    return str(sel.name), matchers


def _indicator(
    slo_doc: Mapping[str, Any], slis: Mapping[str, Any], where: str, job: str
) -> dict[str, Any]:
    spec = slo_doc.get("spec", {})
    indicator = spec.get("indicator")
    if indicator is None and "indicatorRef" in spec:
        indicator = slis.get(spec["indicatorRef"])
        if indicator is None:
            raise bad(
                where + ".spec.indicatorRef", spec["indicatorRef"], "the name of an SLI document"
            )
    ratio = (indicator or {}).get("spec", {}).get("ratioMetric")
    if not isinstance(ratio, Mapping) or "total" not in ratio:
        raise bad(where + ".spec.indicator", indicator, _EXPECTED_RATIO)
    total_name, total_m = _selector(ratio["total"], where + ".ratioMetric.total")
    if total_name != _COUNT:
        raise bad(where + ".ratioMetric.total", total_name, _COUNT)
    extra = set(total_m) - {("job", "="), ("http_route", "!~")}
    if extra or total_m.get(("job", "="), job) != job:
        expected = f'matchers job="{job}" and http_route!~"..." only'
        raise bad(where + ".ratioMetric.total", dict(sorted(total_m.items())), expected)
    out: dict[str, Any] = {}
    routes = total_m.get(("http_route", "!~"))
    if routes:
        out["exclude_routes"] = routes.split("|")
    if ("good" in ratio) == ("bad" in ratio):
        raise bad(where + ".ratioMetric", sorted(ratio), _EXPECTED_RATIO)
    key = "good" if "good" in ratio else "bad"
    name, m = _selector(ratio[key], f"{where}.ratioMetric.{key}")
    status = (
        m.get(("http_response_status_code", "!~")),
        m.get(("http_response_status_code", "=~")),
    )
    if key == "good" and name == _BUCKET and ("le", "=") in m:
        kind: dict[str, Any] = {"kind": "latency", "threshold": float(m[("le", "=")])}
    elif name == _COUNT and (
        (key == "good" and status[0] == "5..") or (key == "bad" and status[1] == "5..")
    ):
        kind = {"kind": "availability"}
    else:
        raise bad(f"{where}.ratioMetric.{key}", name, _EXPECTED_RATIO)
    shared = {k: v for k, v in m.items() if k[0] not in ("le", "http_response_status_code")}
    if shared != total_m:
        expected = "the same job/http_route matchers as total"
        raise bad(f"{where}.ratioMetric.{key}", dict(sorted(m.items())), expected)
    return {**out, **kind}


def _objective(spec: Mapping[str, Any], where: str) -> float:
    objectives = spec.get("objectives")
    if (
        not isinstance(objectives, list)
        or len(objectives) != 1
        or not isinstance(objectives[0], Mapping)
    ):
        raise bad(where + ".spec.objectives", objectives, "exactly one objective")
    first = objectives[0]
    if "targetPercent" in first:
        value = first["targetPercent"]
    else:
        value = first.get("target")
        value = (
            value * 100 if isinstance(value, int | float) and not isinstance(value, bool) else value
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(where + ".spec.objectives[0].target", value, "a ratio such as 0.999")
    return round(float(value), 10)


def slos_from_openslo(text: str, label: str, service: str, job: str) -> list[dict[str, Any]]:
    """Description ``slos`` entries for the OpenSLO ``SLO`` documents of ``service`` in ``text``."""
    try:
        docs = [d for d in yaml.load_all(text, Loader=StrictLoader) if d is not None]
    except yaml.YAMLError as exc:
        msg = f"{label} = unreadable: expected OpenSLO YAML ({' '.join(str(exc).split())})"
        raise GenerateError(msg) from None
    for i, doc in enumerate(docs):
        if not isinstance(doc, Mapping) or doc.get("apiVersion") != "openslo/v1":
            raise bad(
                f"{label}[{i}].apiVersion",
                doc.get("apiVersion") if isinstance(doc, Mapping) else doc,
                "openslo/v1",
            )
    slis = {
        d["metadata"]["name"]: d
        for d in docs
        if d.get("kind") == "SLI" and isinstance(d.get("metadata"), Mapping)
    }
    out = []
    for i, doc in enumerate(docs):
        if doc.get("kind") != "SLO":
            continue
        where = f"{label}[{i}]"
        spec = doc.get("spec")
        name = (doc.get("metadata") or {}).get("name")
        if not isinstance(spec, Mapping) or not isinstance(name, str):
            raise bad(where, doc, "an SLO with metadata.name and spec")
        if spec.get("service") != service:
            raise bad(
                where + ".spec.service", spec.get("service"), f"{service!r}, the described service"
            )
        window = spec.get("timeWindow")
        if window != [{"duration": "30d", "isRolling": True}]:
            raise bad(where + ".spec.timeWindow", window, "[{duration: 30d, isRolling: true}]")
        if spec.get("budgetingMethod", "Occurrences") != "Occurrences":
            raise bad(where + ".spec.budgetingMethod", spec.get("budgetingMethod"), "Occurrences")
        entry: dict[str, Any] = {"name": name, **_indicator(doc, slis, where, job)}
        entry["objective"] = _objective(spec, where)
        if isinstance(spec.get("description"), str) and spec["description"]:
            entry["description"] = spec["description"]
        out.append(entry)
    if not out:
        raise bad(label, "(no SLO documents)", "at least one OpenSLO v1 SLO document")
    return out
