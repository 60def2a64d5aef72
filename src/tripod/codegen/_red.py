"""RED recording rules per route and per job, and the service's RED, availability and
saturation alerts, all over the catalog's HTTP metrics."""

from __future__ import annotations

from typing import Any

from tripod.catalog import (
    HTTP_SERVER_ACTIVE_REQUESTS,
    HTTP_SERVER_REQUEST_DURATION,
    TELEMETRY_DROPPED,
    le_label,
)
from tripod.codegen._alerts import Alert, Case, Series, check_alert_text, counter, selector
from tripod.codegen._errors import bad
from tripod.codegen._model import Service

DURATION = HTTP_SERVER_REQUEST_DURATION.name
COUNT = f"{DURATION}_count"
BUCKET = f"{DURATION}_bucket"
ACTIVE = HTTP_SERVER_ACTIVE_REQUESTS.name
DROPPED = f"{TELEMETRY_DROPPED.name}_total"
ERROR_STATUS = "5.."
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))

# Recorded series (level:metric:operation, as the Prometheus docs name them).
ROUTE_REQUESTS = "job_http_route:http_server_requests:rate5m"
ROUTE_ERRORS = "job_http_route:http_server_request_errors:rate5m"
ROUTE_ERROR_RATIO = "job_http_route:http_server_request_error:ratio_rate5m"
ROUTE_BUCKETS = "job_http_route:http_server_request_duration_seconds_bucket:rate5m"
JOB_REQUESTS = "job:http_server_requests:rate5m"
JOB_ERRORS = "job:http_server_request_errors:rate5m"
JOB_ERROR_RATIO = "job:http_server_request_error:ratio_rate5m"
JOB_BUCKETS = "job:http_server_request_duration_seconds_bucket:rate5m"
STATUS_REQUESTS = "job_http_response_status_code:http_server_requests:rate5m"
JOB_ACTIVE = "job:http_server_active_requests:sum"
INSTANCE_ACTIVE = "instance:http_server_active_requests:sum"


def route_quantile(tag: str) -> str:
    return f"job_http_route:http_server_request_duration_seconds:{tag}_rate5m"


def job_quantile(tag: str) -> str:
    return f"job:http_server_request_duration_seconds:{tag}_rate5m"


def recording_group(svc: Service) -> dict[str, Any]:
    """RED per route and per job, evaluated in order (later rules read earlier ones)."""
    job = f'job="{svc.job}"'
    errors = f'{job}, http_response_status_code=~"{ERROR_STATUS}"'
    rules: list[dict[str, str]] = [
        {
            "record": ROUTE_REQUESTS,
            "expr": f"sum by (job, http_route) (rate({COUNT}{{{job}}}[5m]))",
        },
        {
            "record": ROUTE_ERRORS,
            "expr": f"sum by (job, http_route) (rate({COUNT}{{{errors}}}[5m]))",
        },
        {
            "record": ROUTE_ERROR_RATIO,
            "expr": f"({ROUTE_ERRORS}{{{job}}} or {ROUTE_REQUESTS}{{{job}}} * 0)"
            f" / {ROUTE_REQUESTS}{{{job}}}",
        },
        {
            "record": ROUTE_BUCKETS,
            "expr": f"sum by (job, http_route, le) (rate({BUCKET}{{{job}}}[5m]))",
        },
    ]
    rules += [
        {
            "record": route_quantile(tag),
            "expr": f"histogram_quantile({q}, {ROUTE_BUCKETS}{{{job}}})",
        }
        for tag, q in QUANTILES
    ]
    rules += [
        {"record": JOB_REQUESTS, "expr": f"sum by (job) ({ROUTE_REQUESTS}{{{job}}})"},
        {"record": JOB_ERRORS, "expr": f"sum by (job) ({ROUTE_ERRORS}{{{job}}})"},
        {
            "record": JOB_ERROR_RATIO,
            "expr": f"({JOB_ERRORS}{{{job}}} or {JOB_REQUESTS}{{{job}}} * 0)"
            f" / {JOB_REQUESTS}{{{job}}}",
        },
        {"record": JOB_BUCKETS, "expr": f"sum by (job, le) ({ROUTE_BUCKETS}{{{job}}})"},
    ]
    rules += [
        {"record": job_quantile(tag), "expr": f"histogram_quantile({q}, {JOB_BUCKETS}{{{job}}})"}
        for tag, q in QUANTILES
    ]
    rules += [
        {
            "record": STATUS_REQUESTS,
            "expr": f"sum by (job, http_response_status_code) (rate({COUNT}{{{job}}}[5m]))",
        },
        {"record": JOB_ACTIVE, "expr": f"sum by (job) ({ACTIVE}{{{job}}})"},
        {"record": INSTANCE_ACTIVE, "expr": f"sum by (job, instance) ({ACTIVE}{{{job}}})"},
    ]
    return {"name": f"{svc.service}-red", "rules": rules}


def _http(svc: Service, status: str, **extra: str) -> dict[str, str]:
    return {
        "job": svc.job,
        "instance": f"{svc.service}:8000",
        "http_request_method": "GET",
        "http_route": "/items",
        "http_response_status_code": status,
        **extra,
    }


def _traffic(svc: Service, minutes: int, ok_per_min: float, err_per_min: float) -> list[Series]:
    series = [Series(selector(COUNT, _http(svc, "200")), counter([(minutes, ok_per_min)]))]
    if err_per_min:
        series.append(Series(selector(COUNT, _http(svc, "500")), counter([(minutes, err_per_min)])))
    return series


def _latency(svc: Service, minutes: int, per_min: float, above: float) -> list[Series]:
    """A histogram whose requests all fall in the bucket just above ``above`` seconds (or in
    the first bucket when ``above`` is 0)."""
    bounds = [*svc.buckets, float("inf")]
    slot = next((i for i, b in enumerate(bounds) if b > above), len(bounds) - 1)
    if above > 0:
        slot = min(slot + 1, len(bounds) - 1)
    series = [
        Series(
            selector(BUCKET, _http(svc, "200", le=le_label(b))),
            counter([(minutes, per_min if i >= slot else 0.0)]),
        )
        for i, b in enumerate(bounds)
    ]
    series.append(Series(selector(COUNT, _http(svc, "200")), counter([(minutes, per_min)])))
    return series


def _up(svc: Service, value: int, minutes: int) -> Series:
    return Series(
        selector("up", {"job": svc.job, "instance": f"{svc.service}:8000"}), f"{value}+0x{minutes}"
    )


def red_alerts(svc: Service) -> list[Alert]:
    """The RED, availability and saturation alerts, minus those the description disables."""
    a = svc.alerts
    p = svc.alert_prefix
    static = {"service": svc.service, "team": svc.team}
    job = f'job="{svc.job}"'
    guard = f"and on (job) {JOB_REQUESTS}{{{job}}} > {a.min_request_rate:g}"
    job_only = {"job": svc.job}
    rate = 600.0  # requests per minute in the test inputs (10 per second)

    def err_ratio(sev: str, limit: float, for_: str) -> Alert:
        over = min(1.0, (a.error_ratio_critical + 1.0) / 2.0)
        under = a.error_ratio_warning / 2.0
        between = (a.error_ratio_warning + a.error_ratio_critical) / 2.0
        fire_ratio = between if sev == "warning" else over
        quiet_ratio = under if sev == "warning" else between
        fire_expect = [{"severity": "warning", **job_only}]
        if sev == "critical":
            fire_expect.append({"severity": "critical", **job_only})
        quiet_expect = [] if sev == "warning" else [{"severity": "warning", **job_only}]
        return Alert(
            name=f"{p}HighErrorRatio",
            expr=f"{JOB_ERROR_RATIO}{{{job}}} > {limit:g} {guard}",
            severity=sev,
            for_=for_,
            labels=static,
            summary=f"More than {limit:.4g} of {svc.service}'s requests fail with a 5xx status.",
            description=(
                f"Job {{{{ $labels.job }}}} answered more than {limit:.2%} of its requests with a "
                f"5xx status over the last 5 minutes, for at least {for_}."
            ),
            meaning=f"The share of requests answered with a {ERROR_STATUS} status is above "
            f"{limit:.2%} while the service receives traffic.",
            impact="Users see failed requests; the availability SLO's error budget is spent.",
            checks=(
                ("Error ratio by route", f"topk(5, {ROUTE_ERROR_RATIO}{{{job}}})"),
                ("Status codes", f"{STATUS_REQUESTS}{{{job}}}"),
                ("Targets up", f"up{{{job}}}"),
            ),
            causes=(
                "A bad deploy (compare with the last rollout time).",
                "A dependency (database, downstream API) failing or timing out.",
                "Resource exhaustion: memory, connections, file descriptors.",
            ),
            mitigation=(
                "Roll back the last deploy if the errors started with it.",
                "Shed or reroute load away from a failing dependency.",
                "Scale out if saturation alerts fire at the same time.",
            ),
            cases=(
                Case(
                    "fires",
                    tuple(_traffic(svc, 30, rate * (1 - fire_ratio), rate * fire_ratio)),
                    "25m",
                    tuple(fire_expect),
                ),
                Case(
                    "quiet",
                    tuple(_traffic(svc, 30, rate * (1 - quiet_ratio), rate * quiet_ratio)),
                    "25m",
                    tuple(quiet_expect),
                ),
            ),
        )

    def latency(tag: str, limit: float) -> Alert:
        return Alert(
            name=f"{p}HighLatency{tag.upper()}",
            expr=f"{job_quantile(tag)}{{{job}}} > {limit:g} {guard}",
            severity="warning",
            for_="10m",
            labels=static,
            summary=f"The {tag} latency of {svc.service} is above {limit:g} seconds.",
            description=(
                f"The {tag} request duration of job {{{{ $labels.job }}}} has been above "
                f"{limit:g}s for 10 minutes."
            ),
            meaning=f"Over the last 5 minutes, {tag[1:]}% of requests took at most the recorded "
            f"value, and that value is above {limit:g}s.",
            impact="Slow pages and API calls; clients may time out and retry, adding load.",
            checks=(
                ("Latency by route", f"topk(5, {route_quantile(tag)}{{{job}}})"),
                ("Requests in flight", f"{INSTANCE_ACTIVE}{{{job}}}"),
                ("Request rate", f"{JOB_REQUESTS}{{{job}}}"),
            ),
            causes=(
                "A slow dependency (database query plans, downstream latency).",
                "Saturation: CPU throttling, too few workers, a full connection pool.",
                "A traffic spike or a new slow route.",
            ),
            mitigation=(
                "Scale out or add workers if in-flight requests are high.",
                "Roll back a deploy that introduced a slow path.",
            ),
            cases=(
                Case(
                    "fires",
                    tuple(_latency(svc, 30, rate, limit)),
                    "25m",
                    ({"severity": "warning", **job_only},),
                ),
                Case("quiet", tuple(_latency(svc, 30, rate, 0.0)), "25m", ()),
            ),
        )

    inst = {"job": svc.job, "instance": f"{svc.service}:8000"}
    gauge = selector(ACTIVE, {**inst, "http_request_method": "GET"})
    alerts = [
        err_ratio("warning", a.error_ratio_warning, "10m"),
        err_ratio("critical", a.error_ratio_critical, "5m"),
        latency("p95", a.latency_p95_seconds),
        latency("p99", a.latency_p99_seconds),
        Alert(
            name=f"{p}TargetDown",
            expr=f"up{{{job}}} == 0",
            severity="warning",
            for_="5m",
            labels=static,
            summary=f"A {svc.service} target cannot be scraped.",
            description="Prometheus has failed to scrape {{ $labels.instance }} of job "
            "{{ $labels.job }} for 5 minutes.",
            meaning="One instance does not answer on its metrics endpoint.",
            impact="Reduced capacity; the instance's requests are invisible to every other alert.",
            checks=(("Targets and their state", f"up{{{job}}}"),),
            causes=("The process crashed or is restarting.", "A network policy or port change."),
            mitigation=("Restart or replace the instance; check its logs for the crash.",),
            cases=(
                Case("fires", (_up(svc, 0, 15),), "10m", ({"severity": "warning", **inst},)),
                Case("quiet", (_up(svc, 1, 15),), "10m", ()),
            ),
        ),
        Alert(
            name=f"{p}Absent",
            expr=f"absent(up{{{job}}} == 1)",
            severity="critical",
            for_="5m",
            labels=static,
            summary=f"No {svc.service} target is up.",
            description=f"No target of job {svc.job} has been scraped successfully for 5 minutes.",
            meaning="Prometheus sees no healthy target of the job: all down, or none discovered.",
            impact="The service is probably down, and all its other alerts are blind.",
            checks=(
                ("Targets", f"up{{{job}}}"),
                ("Discovered targets", "prometheus_sd_discovered_targets"),
            ),
            causes=(
                "The deployment scaled to zero or crashed.",
                "Service discovery lost the pods.",
            ),
            mitigation=("Restore the deployment; check scrape annotations and discovery.",),
            cases=(
                Case("fires", (_up(svc, 0, 15),), "10m", ({"severity": "critical"},)),
                Case("quiet", (_up(svc, 1, 15),), "10m", ()),
            ),
        ),
        Alert(
            name=f"{p}MetricsAbsent",
            expr=f"absent({COUNT}{{{job}}}) and on () count(up{{{job}}} == 1) > 0",
            severity="warning",
            for_="15m",
            labels=static,
            summary=f"{svc.service} is up but exports no HTTP request metrics.",
            description=f"Job {{{{ $labels.job }}}} is scraped but has no {COUNT} series.",
            meaning="The target answers, but the request-duration histogram every other alert "
            "and the SLOs read is missing.",
            impact="Error, latency and SLO alerts cannot fire.",
            checks=(("Histogram series", f"count({COUNT}{{{job}}})"),),
            causes=(
                "tripod.init()/instrument() is not called, or metrics are disabled.",
                "A renamed metric or a changed metrics path.",
            ),
            mitigation=("Restore the instrumentation; compare with the catalog (tripod.catalog).",),
            cases=(
                Case(
                    "fires", (_up(svc, 1, 25),), "20m", ({"severity": "warning", "job": svc.job},)
                ),
                Case("quiet", (_up(svc, 1, 25), *_traffic(svc, 25, rate, 0)), "20m", ()),
            ),
        ),
        Alert(
            name=f"{p}HighInFlightRequests",
            expr=f"{INSTANCE_ACTIVE}{{{job}}} > {a.max_in_flight:g}",
            severity="warning",
            for_="10m",
            labels=static,
            summary=f"A {svc.service} instance holds too many requests in flight.",
            description=f"Instance {{{{ $labels.instance }}}} of job {{{{ $labels.job }}}} has had "
            f"more than {a.max_in_flight:g} requests in flight for 10 minutes.",
            meaning="Requests queue up inside the process: it is saturated.",
            impact="Latency grows for every request on that instance; timeouts follow.",
            checks=(("In flight by instance", f"{INSTANCE_ACTIVE}{{{job}}}"),),
            causes=(
                "Too few workers or instances for the load.",
                "A slow dependency holding requests.",
            ),
            mitigation=("Scale out; find the slow route in the latency dashboard.",),
            cases=(
                Case(
                    "fires",
                    (Series(gauge, f"{a.max_in_flight * 2:g}+0x20"),),
                    "15m",
                    ({"severity": "warning", **inst},),
                ),
                Case("quiet", (Series(gauge, f"{a.max_in_flight / 2:g}+0x20"),), "15m", ()),
            ),
        ),
        Alert(
            name=f"{p}TelemetryDropped",
            expr=f"sum by (job, instance, signal) (rate({DROPPED}{{{job}}}[10m])) > 0",
            severity="info",
            for_="15m",
            labels=static,
            summary=f"{svc.service} drops telemetry instead of exporting it.",
            description="Instance {{ $labels.instance }} has dropped {{ $labels.signal }} items "
            "for 15 minutes (full export queue or unreachable backend).",
            meaning="tripod's export queue is full: the backend is slow or unreachable.",
            impact="Traces or logs are missing; the service itself is unaffected.",
            checks=(("Drops by signal", f"rate({DROPPED}{{{job}}}[10m])"),),
            causes=("The collector or backend is down.", "Export queue too small for the load."),
            mitigation=("Restore the collector; raise TRIPOD_EXPORT_QUEUE_SIZE if needed.",),
            cases=(
                Case(
                    "fires",
                    (Series(selector(DROPPED, {**inst, "signal": "traces"}), counter([(30, 5)])),),
                    "25m",
                    ({"severity": "info", **inst, "signal": "traces"},),
                ),
                Case(
                    "quiet",
                    (Series(selector(DROPPED, {**inst, "signal": "traces"}), "0+0x30"),),
                    "25m",
                    (),
                ),
            ),
        ),
    ]
    known = sorted({x.name.removeprefix(p) for x in alerts})
    for i, name in enumerate(sorted(a.disabled)):
        if name not in known:
            raise bad(f"alerts.disable[{i}]", name, "one of " + ", ".join(known))
    kept = [x for x in alerts if x.name.removeprefix(p) not in a.disabled]
    for alert in kept:
        check_alert_text(alert)
    return kept
