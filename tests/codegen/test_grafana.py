"""Every generated query names only what exists: dashboard panels, rule expressions and runbook
checks parse with promql-parser and read only catalog series, generated recording rules or
Prometheus's own series. Dashboard linter conventions hold."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import promql_parser as pp
import pytest

from tests.codegen.conftest import NAMES, Generated
from tripod.catalog import CATALOG
from tripod.codegen._prometheus import rules_path, slo_rules_path
from tripod.codegen._yamlio import load_strict

COUNTER_SUFFIXES = ("_total", "_count", "_bucket", "_sum")
RATE_FUNCTIONS = {"rate", "irate", "increase"}


def _names(node: object, in_rate: bool = False) -> Iterator[tuple[str, bool]]:
    """Every metric name a query reads, and whether it is read inside rate/irate/increase."""
    if isinstance(node, pp.VectorSelector):
        yield node.name, in_rate
    elif isinstance(node, pp.MatrixSelector):
        yield from _names(node.vector_selector, in_rate)
    elif isinstance(node, pp.Call):
        inside = in_rate or node.func.name in RATE_FUNCTIONS
        for arg in node.args:
            yield from _names(arg, inside)
    elif isinstance(node, pp.BinaryExpr):
        yield from _names(node.lhs, in_rate)
        yield from _names(node.rhs, in_rate)
    elif isinstance(node, pp.AggregateExpr):
        yield from _names(node.expr, in_rate)
        if node.param is not None:
            yield from _names(node.param, in_rate)
    elif isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        yield from _names(node.expr, in_rate)


def _panels(g: Generated) -> list[dict[str, object]]:
    board = json.loads(g.files[f"grafana/dashboards/{g.svc.service}.json"])
    panels: list[dict[str, object]] = board["panels"]
    return panels


def _recorded(g: Generated) -> set[str]:
    names = set()
    for rel in (rules_path(g.svc), slo_rules_path(g.svc)):
        for group in load_strict(g.files[rel].decode())["groups"]:
            names |= {r["record"] for r in group["rules"] if "record" in r}
    return names


@pytest.mark.parametrize("name", NAMES)
def test_panel_queries_parse_and_name_only_known_metrics(
    generated: dict[str, Generated], name: str
) -> None:
    g = generated[name]
    catalog = {series for spec in CATALOG for series in spec.series_names}
    known = catalog | _recorded(g)
    exprs = [t["expr"] for p in _panels(g) for t in p["targets"]]  # type: ignore[attr-defined]
    assert len(exprs) >= 10
    for expr in exprs:
        if "rate(" in expr or "increase(" in expr:
            assert "[$__rate_interval]" in expr or "[$__range]" in expr, expr
        concrete = (
            expr.replace("$__rate_interval", "1m")
            .replace("$__range", "1h")
            .replace("$instance", ".*")
            .replace("$job", g.svc.job)
        )
        names = list(_names(pp.parse(concrete)))
        assert names, expr
        for metric, in_rate in names:
            assert metric in known, (metric, expr)
            if metric in catalog and metric.endswith(COUNTER_SUFFIXES):
                assert in_rate, f"counter {metric} outside rate/increase in {expr}"


def test_the_checker_sees_a_bare_counter() -> None:
    names = list(_names(pp.parse('sum(http_server_request_duration_seconds_count{job="a"})')))
    assert names == [("http_server_request_duration_seconds_count", False)]


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_conventions(generated: dict[str, Generated], name: str) -> None:
    g = generated[name]
    board = json.loads(g.files[f"grafana/dashboards/{g.svc.service}.json"])
    assert board["uid"] == f"tripod-{g.svc.service}"
    assert "tripod" in board["tags"]
    assert g.svc.service in board["tags"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert set(variables) == {"datasource", "job", "instance"}
    assert variables["datasource"]["query"] == "prometheus"
    titles = []
    for panel in _panels(g):
        assert panel["description"], panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]  # type: ignore[index]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        titles.append(panel["title"])
    for wanted in ("Request rate", "Error ratio", "Latency", "Latency distribution", "Top routes"):
        assert wanted in titles
    assert "Status codes" in titles
    assert "Requests in flight" in titles
    for slo in g.svc.slos:
        assert f"SLO {slo.name}: error budget left" in titles
        assert f"SLO {slo.name}: burn rate" in titles
    heatmap = next(p for p in _panels(g) if p["type"] == "heatmap")
    assert heatmap["targets"][0]["format"] == "heatmap"  # type: ignore[index]


def test_provisioning_points_at_the_dashboards(generated: dict[str, Generated]) -> None:
    g = generated["shop"]
    ds = load_strict(g.files["grafana/provisioning/datasources/tripod.yml"].decode())
    assert ds["datasources"][0]["type"] == "prometheus"
    providers = load_strict(g.files["grafana/provisioning/dashboards/tripod.yml"].decode())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/tripod"


#: Series Prometheus itself provides, which generated rules and runbooks may read.
PROMETHEUS_OWN = {"up", "prometheus_sd_discovered_targets"}


@pytest.mark.parametrize("name", NAMES)
def test_rules_and_runbooks_read_only_known_series(
    generated: dict[str, Generated], name: str
) -> None:
    g = generated[name]
    catalog = {series for spec in CATALOG for series in spec.series_names}
    known = catalog | _recorded(g) | PROMETHEUS_OWN
    exprs = []
    for rel in (rules_path(g.svc), slo_rules_path(g.svc)):
        for group in load_strict(g.files[rel].decode())["groups"]:
            exprs += [r["expr"] for r in group["rules"]]
    checks = [
        query
        for rel, data in g.files.items()
        if rel.startswith("runbooks/")
        for query in re.findall(r"```promql\n  (.+)\n  ```", data.decode())
    ]
    assert len(checks) > 20
    for expr in exprs + checks:
        for metric, _ in _names(pp.parse(expr)):
            assert metric in known, (metric, expr)
