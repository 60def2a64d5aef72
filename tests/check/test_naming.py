"""promlint's problems, one case each (client_golang's promlint tests as the model), and the
catalog in src/tripod/catalog.py passing all of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripod.catalog import CATALOG
from tripod.check._naming import lint, problems
from tripod.check._pyfacts import MetricDecl
from tripod.check._pyscan import scan

CATALOG_PY = Path(__file__).resolve().parents[2] / "src" / "tripod" / "catalog.py"


def _decl(
    name: str, kind: str, help_: str | None = "Help.", labels: tuple[str, ...] = ()
) -> MetricDecl:
    return MetricDecl(name, kind, help_, labels, "m.py", 1, 1, None, "prometheus_client")


@pytest.mark.parametrize(
    ("name", "kind", "labels", "rule", "text"),
    [
        (
            "foo_milliseconds",
            "gauge",
            (),
            "naming-base-unit",
            "use base unit 'seconds' instead of 'milliseconds'",
        ),
        (
            "foo_kilobits",
            "gauge",
            (),
            "naming-base-unit",
            "use base unit 'bytes' instead of 'kilobits'",
        ),
        ("foo_hours", "histogram", (), "naming-base-unit", "'seconds' instead of 'hours'"),
        ("foo_total", "gauge", (), "naming-counter-total", 'should not have "_total"'),
        ("foo_bucket", "gauge", (), "naming-reserved-suffix", '"_bucket"'),
        ("foo_count", "gauge", (), "naming-reserved-suffix", 'should not have "_count"'),
        ("foo_sum", "gauge", (), "naming-reserved-suffix", '"_sum"'),
        ("foo", "gauge", ("le",), "naming-reserved-suffix", '"le" label'),
        ("foo_seconds", "histogram", ("quantile",), "naming-reserved-suffix", '"quantile" label'),
        ("foo_timestamp_seconds", "histogram", (), "naming-reserved-suffix", "_timestamp_seconds"),
        ("requests_gauge", "gauge", (), "naming-type-in-name", "type 'gauge'"),
        ("requests_histogram_seconds", "histogram", (), "naming-type-in-name", "'histogram'"),
        ("job:requests:rate5m", "gauge", (), "naming-reserved-chars", "':'"),
        ("requestsTotal", "gauge", (), "naming-camel-case", "snake_case"),
        ("requests", "gauge", ("httpMethod",), "naming-camel-case", "label 'httpMethod'"),
        ("latency_ms", "histogram", (), "naming-abbreviated-unit", "'ms'"),
        ("size_kb", "gauge", (), "naming-abbreviated-unit", "'kb'"),
        ("orders", "counter", ("orders",), "naming-label-repeats-name", "'orders'"),
        ("orders.placed", "counter", (), "naming-invalid", "not a valid metric name"),
        ("orders", "counter", ("order-id",), "naming-invalid", "'order-id'"),
    ],
)
def test_each_promlint_problem(
    name: str, kind: str, labels: tuple[str, ...], rule: str, text: str
) -> None:
    found = list(problems(_decl(name, kind, labels=labels)))
    assert any(r == rule and text in m for r, m in found), found


def test_no_help_and_clean_names() -> None:
    assert [r for r, _ in problems(_decl("orders", "counter", help_=""))] == ["naming-help"]
    for name, kind in [("orders", "counter"), ("request_duration_seconds", "histogram"),
                       ("queue_depth", "gauge"), ("rpc_duration_seconds", "summary"),
                       ("build", "info"), ("boot_time_timestamp_seconds", "gauge")]:  # fmt: skip
        assert list(problems(_decl(name, kind))) == [], name


def test_the_same_name_declared_twice_differently_is_not_unique() -> None:
    first, second = _decl("jobs", "counter"), _decl("jobs", "gauge")
    assert [f.rule for f in lint([first, second])] == ["naming-duplicate"]
    assert lint([first, _decl("jobs", "counter")]) == []


def test_the_catalog_is_read_from_source_and_passes_promlint() -> None:
    facts = scan(str(CATALOG_PY), CATALOG_PY.read_text(), "tripod.catalog", "tripod")
    specs = [d for d in facts.decls if d.source == "spec"]
    assert sorted(d.name for d in specs) == sorted(s.name for s in CATALOG)
    assert {d.name: d.kind for d in specs} == {s.name: s.type for s in CATALOG}
    assert lint(specs) == []
