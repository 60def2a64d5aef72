"""SLO rules in the multi-window, multi-burn-rate form of Google's SRE workbook (chapter 5),
recorded in the shape Sloth generates, so Sloth's dashboards and habits carry over.

Per SLO: ``slo:sli_error:ratio_rate{5m,30m,1h,2h,6h,1d,3d}`` and ``..._rate30d``; meta rules
``slo:objective:ratio``, ``slo:error_budget:ratio``, ``slo:time_period:days``,
``slo:current_burn_rate:ratio``, ``slo:period_burn_rate:ratio``,
``slo:period_error_budget_remaining:ratio``; one alert name with a ``page`` tier
(5m and 1h above 14.4x, or 30m and 6h above 6x) and a ``ticket`` tier (2h and 1d above 3x, or
6h and 3d above 1x), without ``for`` as in Sloth, and a minimum-traffic guard.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from tripod.catalog import le_label
from tripod.codegen._alerts import Alert, Case, Series, check_alert_text, counter, selector
from tripod.codegen._errors import bad
from tripod.codegen._model import SLO, Service
from tripod.codegen._red import BUCKET, COUNT, ERROR_STATUS

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
PERIOD_DAYS = 30
_MINUTES = {"5m": 5, "30m": 30, "1h": 60, "2h": 120, "6h": 360, "1d": 1440, "3d": 4320}


@dataclasses.dataclass(frozen=True)
class Condition:
    """Both windows' error ratios above ``factor`` x the error budget."""

    short: str
    long: str
    factor: float


PAGE = (Condition("5m", "1h", 14.4), Condition("30m", "6h", 6.0))
TICKET = (Condition("2h", "1d", 3.0), Condition("6h", "3d", 1.0))
#: Minimum-traffic guard windows: pages look at the last hour, tickets at the last day.
GUARD = {"page": "1h", "ticket": "1d"}


def sli_error(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def sli_total(window: str) -> str:
    return f"slo:sli_total:rate{window}"


def _f(value: float) -> str:
    return f"{value:.12g}"


def _matchers(slo: SLO, svc: Service) -> str:
    parts = [f'job="{svc.job}"']
    if slo.exclude_routes:
        parts.append('http_route!~"{}"'.format("|".join(slo.exclude_routes)))
    return ", ".join(parts)


def _ratio_expr(slo: SLO, svc: Service, window: str) -> str:
    m = _matchers(slo, svc)
    total = f"sum(rate({COUNT}{{{m}}}[{window}]))"
    if slo.kind == "availability":
        bad = f'sum(rate({COUNT}{{{m}, http_response_status_code=~"{ERROR_STATUS}"}}[{window}]))'
        return f"({bad} or vector(0)) / {total}"
    assert slo.threshold is not None
    good = f'sum(rate({BUCKET}{{{m}, le="{le_label(slo.threshold)}"}}[{window}]))'
    return f"({total} - {good}) / {total}"


def _ids(slo: SLO, svc: Service) -> dict[str, str]:
    return {"service": svc.service, "slo": slo.name}


def _sel(slo: SLO, svc: Service) -> str:
    return f'{{service="{svc.service}", slo="{slo.name}"}}'


def sli_groups(slo: SLO, svc: Service) -> list[dict[str, Any]]:
    """The SLI recording group and the meta recording group of one SLO."""
    ids = _ids(slo, svc)
    sel = _sel(slo, svc)
    m = _matchers(slo, svc)
    sli: list[dict[str, Any]] = [
        {"record": sli_error(w), "expr": _ratio_expr(slo, svc, w), "labels": ids} for w in WINDOWS
    ]
    sli += [
        {"record": sli_total(w), "expr": f"sum(rate({COUNT}{{{m}}}[{w}]))", "labels": ids}
        for w in sorted(set(GUARD.values()))
    ]
    budget = _f(slo.error_budget)
    meta: list[dict[str, Any]] = [
        {
            "record": f"slo:sli_error:ratio_rate{PERIOD_DAYS}d",
            "expr": f"avg_over_time({sli_error('5m')}{sel}[{PERIOD_DAYS}d])",
            "labels": ids,
        },
        {"record": "slo:objective:ratio", "expr": f"vector({_f(slo.objective)})", "labels": ids},
        {"record": "slo:error_budget:ratio", "expr": f"vector({budget})", "labels": ids},
        {"record": "slo:time_period:days", "expr": f"vector({PERIOD_DAYS})", "labels": ids},
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": f"{sli_error('5m')}{sel} / on (service, slo) group_left "
            f"slo:error_budget:ratio{sel}",
            "labels": ids,
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate{PERIOD_DAYS}d{sel} / on (service, slo) group_left "
            f"slo:error_budget:ratio{sel}",
            "labels": ids,
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{sel}",
            "labels": ids,
        },
    ]
    return [
        {"name": f"{svc.service}-slo-{slo.name}-sli", "rules": sli},
        {"name": f"{svc.service}-slo-{slo.name}-meta", "rules": meta},
    ]


def _tier_expr(slo: SLO, svc: Service, tier: str) -> str:
    sel = _sel(slo, svc)
    budget = _f(slo.error_budget)
    conditions = PAGE if tier == "page" else TICKET
    parts = [
        f"(max by (service, slo) ({sli_error(c.short)}{sel} > ({_f(c.factor)} * {budget})) and "
        f"max by (service, slo) ({sli_error(c.long)}{sel} > ({_f(c.factor)} * {budget})))"
        for c in conditions
    ]
    expr = f"({parts[0]} or {parts[1]})"
    if slo.min_requests_per_hour > 0:
        window = GUARD[tier]
        needed = slo.min_requests_per_hour * _MINUTES[window] / 60.0
        seconds = _MINUTES[window] * 60
        expr += f" and on () (sum({sli_total(window)}{sel}) * {seconds} >= {_f(needed)})"
    return expr


def _pairs(conditions: tuple[Condition, ...]) -> str:
    return " or ".join(f"{c.short} and {c.long} above {c.factor:g}x" for c in conditions)


def alert_name(slo: SLO, svc: Service) -> str:
    camel = "".join(w[:1].upper() + w[1:] for w in slo.name.replace("_", "-").split("-") if w)
    return f"{svc.alert_prefix}{camel}ErrorBudgetBurn"


# --- the burn the unit tests drive -------------------------------------------------------

#: Healthy traffic before a fast burn starts: fills the 6h window, so the page fires by the
#: 5m/1h pair at the minute the workbook predicts rather than by a half-empty 6h window.
BASE_MINUTES = 370
#: Length of the steady inputs (slow burn, healthy, low traffic): more than the 1h window.
STEADY_MINUTES = 75
RATE = 600.0  # requests per minute (10 per second)
FAST_BURN_RATIO = 0.1  # errors during a fast burn: 100x the budget of a 99.9% SLO


def detection_minutes(budget: float, error_ratio: float, cond: Condition) -> float:
    """SRE workbook: time for the long window's error ratio to reach ``factor * budget`` when
    ``error_ratio`` of requests start failing after a long healthy stretch."""
    return cond.factor * budget * _MINUTES[cond.long] / error_ratio


def crossing_minutes(window: str, ratio: float, limit: float) -> float:
    """Minutes after a burn of ``ratio`` starts (after ``BASE_MINUTES`` of healthy traffic)
    until the error ratio over ``window`` exceeds ``limit``. A window longer than the history
    holds only the history, as ``rate`` over a counter that starts at zero sees it, so the
    ratio is ``min(t, w) * ratio / min(w, BASE + t)``: increasing in ``t``, one crossing."""
    if ratio <= limit:
        return math.inf
    w = _MINUTES[window]
    partial = limit * BASE_MINUTES / (ratio - limit)  # while the window reaches past the history
    if BASE_MINUTES + partial < w:
        return partial
    return limit * w / ratio


def onset_minutes(budget: float, ratio: float, conditions: tuple[Condition, ...]) -> float:
    """Minutes after a burn of ``ratio`` starts until one of ``conditions`` holds."""
    return min(
        max(
            crossing_minutes(c.short, ratio, c.factor * budget),
            crossing_minutes(c.long, ratio, c.factor * budget),
        )
        for c in conditions
    )


_MARGIN = 0.15  # minutes kept between a predicted onset and an evaluation the test checks


def _clear_of(t: float, *times: int) -> bool:
    return all(math.isinf(t) or abs(t - x) > _MARGIN for x in times)


def _fast_ratio(slo: SLO) -> tuple[float, float, float, int, int]:
    """An error ratio that pages by the 5m/1h pair; its page onset; its ticket onset; the last
    whole minute the page must still be quiet and the first it must fire, both at least
    ``_MARGIN`` from the onset, with the ticket onset clear of both."""
    need = PAGE[0].factor * slo.error_budget
    # First pass: a one-minute bracket (onset mid-minute); second: any bracket with margins.
    for tight in (True, False):
        for hundredth in range(400, 100, -1):
            ratio = min(1.0, need * hundredth / 100.0)
            page = onset_minutes(slo.error_budget, ratio, PAGE)
            ticket = onset_minutes(slo.error_budget, ratio, TICKET)
            before, after = math.floor(page - _MARGIN), math.ceil(page + _MARGIN)
            if tight and after - before > 1:
                continue
            if before >= 1 and _clear_of(ticket, before, after):
                return ratio, page, ticket, before, after
    expected = "an objective whose fast burn a minute-step unit test can bracket"
    raise bad(f"slos[{slo.name}].objective", round(slo.objective * 100, 10), expected)


def _inputs(slo: SLO, svc: Service, segments: list[tuple[int, float, float]]) -> tuple[Series, ...]:
    """Series for ``(minutes, requests per minute, error ratio)`` segments."""
    labels = {
        "job": svc.job,
        "instance": f"{svc.service}:8000",
        "http_request_method": "GET",
        "http_route": "/checkout",
    }
    ok = [(n, r * (1 - e)) for n, r, e in segments]
    err = [(n, r * e) for n, r, e in segments]
    if slo.kind == "availability":
        return (
            Series(selector(COUNT, {**labels, "http_response_status_code": "200"}), counter(ok)),
            Series(selector(COUNT, {**labels, "http_response_status_code": "500"}), counter(err)),
        )
    assert slo.threshold is not None
    total = [(n, r) for n, r, _ in segments]
    status = {**labels, "http_response_status_code": "200"}
    return (
        Series(selector(COUNT, status), counter(total)),
        Series(selector(BUCKET, {**status, "le": le_label(slo.threshold)}), counter(ok)),
        Series(selector(BUCKET, {**status, "le": "+Inf"}), counter(total)),
    )


def _cases(slo: SLO, svc: Service, tier: str) -> tuple[Case, ...]:
    ids = _ids(slo, svc)
    page = {"severity": slo.page.severity, "burn_tier": "page", **ids}
    ticket = {"severity": slo.ticket.severity, "burn_tier": "ticket", **ids}
    want_page = (page,) if slo.page.enabled else ()
    want_ticket = (ticket,) if slo.ticket.enabled else ()
    budget = slo.error_budget
    end = STEADY_MINUTES
    if tier == "page":
        ratio, _, t_ticket, before, after = _fast_ratio(slo)
        workbook = detection_minutes(budget, ratio, PAGE[0])
        burn = [(BASE_MINUTES, RATE, 0.0), (after + 5, RATE, ratio)]
        inputs = _inputs(slo, svc, burn)
        return (
            Case(
                f"quiet at {before}m of a {ratio:.4g} error ratio (workbook: {workbook:.2f}m)",
                inputs,
                f"{BASE_MINUTES + before}m",
                want_ticket if t_ticket < before else (),
            ),
            Case(
                f"fires at {after}m of a {ratio:.4g} error ratio (workbook: {workbook:.2f}m)",
                inputs,
                f"{BASE_MINUTES + after}m",
                want_page + (want_ticket if t_ticket < after else ()),
            ),
        )
    slow = 4 * budget  # 4x: above the 3x of the 2h/1d pair, below the 6x and 14.4x of pages
    return (
        Case(
            f"fires on a steady {slow:.4g} error ratio",
            _inputs(slo, svc, [(end, RATE, slow)]),
            f"{end}m",
            want_ticket,
        ),
        Case("quiet on healthy traffic", _inputs(slo, svc, [(end, RATE, 0.0)]), f"{end}m", ()),
    )


def _guard_case(slo: SLO, svc: Service) -> Case:
    per_min = slo.min_requests_per_hour / 60.0 / 4.0  # a quarter of the guard's minimum
    return Case(
        f"quiet below the traffic guard ({slo.min_requests_per_hour:g} requests/hour)",
        _inputs(slo, svc, [(STEADY_MINUTES, per_min, 1.0)]),
        f"{STEADY_MINUTES}m",
        (),
    )


def slo_alerts(slo: SLO, svc: Service) -> list[Alert]:
    """The page and ticket burn alerts of one SLO (a disabled tier is left out)."""
    out = []
    ids = {**_ids(slo, svc), "team": svc.team}
    name = alert_name(slo, svc)
    sel = _sel(slo, svc)
    for tier, setting in (("page", slo.page), ("ticket", slo.ticket)):
        if not setting.enabled:
            continue
        speed = "fast" if tier == "page" else "slowly but steadily"
        conditions = PAGE if tier == "page" else TICKET
        cases = _cases(slo, svc, tier)
        if tier == "page" and slo.min_requests_per_hour > 0:
            cases += (_guard_case(slo, svc),)
        pairs = _pairs(conditions)
        alert = Alert(
            name=name,
            expr=_tier_expr(slo, svc, tier),
            severity=setting.severity,
            for_=None,
            labels={**ids, "burn_tier": tier},
            summary=f"The {slo.name} SLO of {svc.service} burns its error budget {speed}.",
            description=(
                "Service {{ $labels.service }} is spending the 30-day error budget of SLO "
                f"{{{{ $labels.slo }}}} ({slo.description.rstrip('.')}) {speed}: "
                f"{pairs} the budget rate."
            ),
            meaning=f"SLO: {slo.description} Burn rate 1 spends exactly the error budget "
            f"({_f(slo.error_budget)} of requests) in {PERIOD_DAYS} days. The page tier fires "
            f"when {_pairs(PAGE)} that rate; the ticket tier when {_pairs(TICKET)}.",
            impact=f"At 14.4x the whole {PERIOD_DAYS}-day budget is gone in about "
            f"{PERIOD_DAYS / 14.4:.1f} days (2% of it per hour); "
            f"at 3x in {PERIOD_DAYS / 3:g} days.",
            checks=(
                ("Burn rate now", f"slo:current_burn_rate:ratio{sel}"),
                ("Budget left", f"slo:period_error_budget_remaining:ratio{sel}"),
                *((f"Error ratio over {w}", f"{sli_error(w)}{sel}") for w in WINDOWS),
            ),
            causes=(
                (
                    "Errors or slow requests after a deploy or a dependency failure; see the "
                    "service's error-ratio and latency alerts."
                ),
            ),
            mitigation=(
                "Stop the burn first (roll back, fail over, shed load), then investigate.",
                "Freeze risky changes while the remaining budget is low.",
            ),
            cases=cases,
        )
        check_alert_text(alert)
        out.append(alert)
    return out


def slo_rule_file(svc: Service) -> dict[str, Any]:
    groups: list[dict[str, Any]] = []
    for slo in svc.slos:
        groups += sli_groups(slo, svc)
        alerts = slo_alerts(slo, svc)
        if alerts:
            groups.append(
                {
                    "name": f"{svc.service}-slo-{slo.name}-alerts",
                    "rules": [a.rule(svc) for a in alerts],
                }
            )
    return {"groups": groups}


def all_slo_alerts(svc: Service) -> list[Alert]:
    return [a for slo in svc.slos for a in slo_alerts(slo, svc)]
