"""SLO rules: Sloth's shape, and the burn the unit tests drive matches the SRE workbook."""

from __future__ import annotations

import pytest

from tests.codegen.conftest import Generated
from tripod.codegen._prometheus import slo_rules_path, slo_unit_tests_path
from tripod.codegen._slo import (
    BASE_MINUTES,
    PAGE,
    TICKET,
    WINDOWS,
    Condition,
    detection_minutes,
    onset_minutes,
)
from tripod.codegen._yamlio import load_strict


@pytest.mark.parametrize("budget", [0.001, 0.005, 0.01, 0.025])
@pytest.mark.parametrize("times", [1.5, 4.0, 10.0])
def test_page_onset_is_the_workbook_detection_time(budget: float, times: float) -> None:
    """With the 6h window full of healthy traffic, a burn of ``times`` x the page rate is
    detected by the 5m/1h pair after (1 - SLO) x 14.4 x 1h / error ratio."""
    ratio = min(1.0, 14.4 * budget * times)
    workbook = detection_minutes(budget, ratio, PAGE[0])
    assert BASE_MINUTES >= 360
    assert onset_minutes(budget, ratio, PAGE) == pytest.approx(workbook, abs=0.011)


def test_workbook_numbers() -> None:
    # SRE workbook, chapter 5, table 5-8: a 100% outage of a 99.9% SLO pages after 52 seconds.
    assert detection_minutes(0.001, 1.0, PAGE[0]) * 60 == pytest.approx(51.84)
    # ... and 2% of the budget is spent when the 1h window at 14.4x fires.
    spent = 14.4 * 60 / (30 * 24 * 60)
    assert spent == pytest.approx(0.02)
    assert onset_minutes(0.001, 0.0005, PAGE) == float("inf")
    assert onset_minutes(0.001, 0.002, TICKET) < float("inf")


def test_sloth_shaped_series(generated: dict[str, Generated]) -> None:
    g = generated["shop"]
    groups = load_strict(g.files[slo_rules_path(g.svc)].decode())["groups"]
    records = {r["record"] for grp in groups for r in grp["rules"] if "record" in r}
    for window in (*WINDOWS, "30d"):
        assert f"slo:sli_error:ratio_rate{window}" in records
    for meta in (
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:current_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
    ):
        assert meta in records
    alerts = [r for grp in groups for r in grp["rules"] if "alert" in r]
    page = next(a for a in alerts if a["labels"]["burn_tier"] == "page")
    assert "for" not in page
    for short, long_, factor in (("5m", "1h", "14.4"), ("30m", "6h", "6")):
        assert f"ratio_rate{short}" in page["expr"]
        assert f"ratio_rate{long_}" in page["expr"]
        assert f"({factor} * 0.001)" in page["expr"]
    # The minimum-traffic guard of the availability SLO (60 requests an hour).
    assert "slo:sli_total:rate1h" in page["expr"]
    assert ">= 60)" in page["expr"]


def test_burn_test_brackets_the_workbook_prediction(generated: dict[str, Generated]) -> None:
    g = generated["shop"]
    tests = load_strict(g.files[slo_unit_tests_path(g.svc)].decode())["tests"]
    burn = next(t for t in tests if "fires at" in t["name"] and "Availability" in t["name"])
    quiet, fires = burn["alert_rule_test"]
    budget = 0.001
    ratio = float(burn["name"].split(" of a ")[1].split(" error ratio")[0])
    predicted = BASE_MINUTES + detection_minutes(budget, ratio, PAGE[0])
    assert (
        int(quiet["eval_time"].removesuffix("m"))
        < predicted
        < int(fires["eval_time"].removesuffix("m"))
    )
    # A one-minute bracket: quiet at the minute before the prediction, firing at the next.
    assert (
        int(fires["eval_time"].removesuffix("m")) - int(quiet["eval_time"].removesuffix("m")) == 1
    )
    assert "page" not in {a["exp_labels"]["burn_tier"] for a in quiet["exp_alerts"]}
    assert "page" in {a["exp_labels"]["burn_tier"] for a in fires["exp_alerts"]}


@pytest.mark.parametrize("ratio", [0.003, 0.01, 0.05, 0.3, 1.0])
@pytest.mark.parametrize("conditions", [PAGE, TICKET])
def test_onset_equals_a_minute_by_minute_scan(
    ratio: float, conditions: tuple[Condition, ...]
) -> None:
    """An independent scan of the window ratios in 0.01-minute steps finds the same onset."""
    budget = 0.001
    minutes = {"5m": 5, "30m": 30, "1h": 60, "2h": 120, "6h": 360, "1d": 1440, "3d": 4320}

    def ratio_at(window: str, t: float) -> float:
        w = minutes[window]
        return min(t, w) * ratio / min(w, BASE_MINUTES + t)

    found = float("inf")
    for step in range(1, 300_000):
        t = step / 100
        if any(
            ratio_at(c.short, t) > c.factor * budget and ratio_at(c.long, t) > c.factor * budget
            for c in conditions
        ):
            found = t
            break
    assert onset_minutes(budget, ratio, conditions) == pytest.approx(found, abs=0.011)
