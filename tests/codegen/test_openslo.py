"""OpenSLO v1 as input: SLO documents over the catalog's request histogram become SLOs;
everything else is refused in one line naming the document path and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.codegen.conftest import EXAMPLES
from tripod.codegen import GenerateError, load_service
from tripod.codegen._openslo import slos_from_openslo

COUNT = "http_server_request_duration_seconds_count"


def _slo(ratio: str, **spec: str) -> str:
    extra = "".join(f"  {k}: {v}\n" for k, v in spec.items())
    return (
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: api}\nspec:\n  service: shop\n"
        "  timeWindow: [{duration: 30d, isRolling: true}]\n  budgetingMethod: Occurrences\n"
        "  objectives: [{target: 0.995}]\n"
        f"{extra}  indicator:\n    metadata: {{name: api-sli}}\n    spec:\n      ratioMetric:\n"
        f"{ratio}"
    )


def _source(role: str, query: str) -> str:
    source = f"{{type: Prometheus, spec: {{query: '{query}'}}}}"
    return f"        {role}:\n          metricSource: {source}\n"


TOTAL = _source("total", f'sum(rate({COUNT}{{job="shop"}}[5m]))')
GOOD = _source("good", f'sum(rate({COUNT}{{job="shop", http_response_status_code!~"5.."}}[5m]))')


def test_the_example_openslo_file_becomes_a_latency_slo() -> None:
    svc = load_service(EXAMPLES / "shop")
    slo = next(s for s in svc.slos if s.name == "browse-latency")
    assert (slo.kind, slo.threshold, slo.objective) == ("latency", 0.5, 0.98)
    assert slo.exclude_routes == ("/healthz", "/metrics")
    assert slo.description == "98% of requests answered within 0.5s over 30 days."


def test_good_and_bad_ratios_map_to_availability() -> None:
    good = _source(
        "good", f'sum(rate({COUNT}{{job="shop", http_response_status_code!~"5.."}}[5m]))'
    )
    bad = _source("bad", f'sum(rate({COUNT}{{job="shop", http_response_status_code=~"5.."}}[5m]))')
    for ratio in (good + TOTAL, bad + TOTAL):
        assert slos_from_openslo(_slo(ratio), "f.yaml", "shop", "shop") == [
            {"name": "api", "kind": "availability", "objective": 99.5}
        ]


@pytest.mark.parametrize(
    ("text", "start"),
    [
        (_slo(TOTAL).replace("service: shop", "service: cart"), "f.yaml[0].spec.service = 'cart'"),
        (_slo(TOTAL).replace("duration: 30d", "duration: 7d"), "f.yaml[0].spec.timeWindow = "),
        (
            _slo(_source("good", 'sum(rate(http_requests_total{code="200"}[5m]))') + TOTAL),
            "f.yaml[0].ratioMetric.good = 'http_requests_total': expected a ratioMetric over",
        ),
        (
            _slo(
                _source(
                    "good", f'sum(rate({COUNT[:-6]}_bucket{{job="shop", le="0.5", x="1"}}[5m]))'
                )
                + TOTAL
            ),
            "f.yaml[0].ratioMetric.good = ",
        ),
        (
            _slo(_source("good", f"sum(rate({COUNT}[5m])) / sum(rate(up[5m]))") + TOTAL),
            "f.yaml[0].ratioMetric.good.metricSource.spec.query = ",
        ),
        (
            _slo(TOTAL).replace("openslo/v1", "openslo/v1alpha"),
            "f.yaml[0].apiVersion = 'openslo/v1alpha'",
        ),
        (
            _slo(GOOD + TOTAL).replace("target: 0.995", "target: high"),
            "f.yaml[0].spec.objectives[0].target = 'high'",
        ),
        (_slo(TOTAL), "f.yaml[0].ratioMetric = ['total']: expected a ratioMetric"),
    ],
)
def test_refusals(text: str, start: str) -> None:
    with pytest.raises(GenerateError) as info:
        slos_from_openslo(text, "f.yaml", "shop", "shop")
    assert str(info.value).startswith(start)
    assert "\n" not in str(info.value)


def test_threshold_must_still_be_a_bucket(tmp_path: Path) -> None:
    good = _source("good", f'sum(rate({COUNT[:-6]}_bucket{{job="shop", le="0.3"}}[5m]))')
    (tmp_path / "slo.yaml").write_text(_slo(good + TOTAL))
    (tmp_path / "tripod.yaml").write_text(
        "service: shop\nteam: t\nrunbook_url: https://r.example\nopenslo: [slo.yaml]\n"
    )
    with pytest.raises(
        GenerateError, match=r"^slos\[0\]\.threshold = 0\.3: .*nearest: 0\.25 and 0\.5$"
    ):
        load_service(tmp_path)
