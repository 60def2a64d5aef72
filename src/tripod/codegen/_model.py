"""The service description ``tripod generate`` reads, as typed values.

Parsed from a mapping (``tripod.yaml`` or ``[tool.tripod.generate]``); every refusal names the
key path, the value and what was expected (:func:`tripod.codegen._errors.bad`).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

from tripod.catalog import HTTP_SERVER_REQUEST_DURATION
from tripod.codegen._errors import bad

SEVERITIES = ("critical", "warning", "info")
SLO_KINDS = ("availability", "latency")
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_DURATION = re.compile(r"^[1-9][0-9]*(ms|s|m|h|d)$")
_PREFIX = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$")

#: Receiver kinds, their accepted keys, the keys they need, and inline secrets refused.
_RECEIVER_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "slack": (
        frozenset({"api_url_file", "channel", "send_resolved", "title", "text"}),
        frozenset({"api_url_file", "channel"}),
    ),
    "pagerduty": (
        frozenset({"routing_key_file", "send_resolved", "severity"}),
        frozenset({"routing_key_file"}),
    ),
    "email": (
        frozenset(
            {"to", "from", "smarthost", "auth_username", "auth_password_file", "require_tls"}
            | {"send_resolved"}
        ),
        frozenset({"to", "from", "smarthost"}),
    ),
    "webhook": (frozenset({"url", "send_resolved", "max_alerts"}), frozenset({"url"})),
}
_INLINE_SECRETS = {
    "api_url": "api_url_file",
    "routing_key": "routing_key_file",
    "service_key": "routing_key_file",
    "auth_password": "auth_password_file",
    "auth_secret": "auth_password_file",
}


@dataclasses.dataclass(frozen=True)
class BurnTier:
    """One burn-rate alert of an SLO (``page`` or ``ticket``)."""

    enabled: bool
    severity: str


@dataclasses.dataclass(frozen=True)
class SLO:
    """An SLO over ``http_server_request_duration_seconds`` for one service."""

    name: str
    kind: str
    objective: float  # a ratio: 0.999
    threshold: float | None  # latency SLOs: seconds, a bucket bound
    min_requests_per_hour: float
    exclude_routes: tuple[str, ...]
    page: BurnTier
    ticket: BurnTier
    description: str

    @property
    def error_budget(self) -> float:
        return round(1.0 - self.objective, 12)


@dataclasses.dataclass(frozen=True)
class Receiver:
    """An Alertmanager receiver: one integration and the severities routed to it."""

    name: str
    kind: str
    severities: tuple[str, ...]
    settings: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class ScrapeJob:
    """An extra static scrape job (an exporter beside the service)."""

    job: str
    targets: tuple[str, ...]
    metrics_path: str
    scheme: str


@dataclasses.dataclass(frozen=True)
class AlertSettings:
    """Thresholds of the RED and saturation alerts; ``disabled`` holds alert names without
    their prefix (``HighLatencyP99``)."""

    error_ratio_warning: float = 0.05
    error_ratio_critical: float = 0.25
    latency_p95_seconds: float = 0.5
    latency_p99_seconds: float = 1.0
    max_in_flight: float = 100.0
    min_request_rate: float = 0.05
    disabled: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class CollectorSettings:
    """Where the OpenTelemetry Collector sends each signal, and its tail sampling."""

    tail_sampling: bool = True
    slow_ms: int = 1000
    remote_write_url: str = "http://prometheus:9090/api/v1/write"
    tempo_endpoint: str = "tempo:4317"
    loki_endpoint: str = "http://loki:3100/otlp"


@dataclasses.dataclass(frozen=True)
class Service:
    """Everything generated for one service comes from this value."""

    service: str
    team: str
    runbook_url: str
    alert_prefix: str
    job: str
    namespace: str
    targets: tuple[str, ...]
    metrics_path: str
    scrape_interval: str
    evaluation_interval: str
    buckets: tuple[float, ...]
    alerts: AlertSettings
    slos: tuple[SLO, ...]
    receivers: tuple[Receiver, ...]
    scrape_jobs: tuple[ScrapeJob, ...]
    alertmanagers: tuple[str, ...]
    remote_write: tuple[str, ...]
    image: str
    otelcol: CollectorSettings
    source: str

    def runbook(self, alertname: str) -> str:
        return f"{self.runbook_url.rstrip('/')}/{alertname}.md"


# --- small typed readers: each names the key path in its refusal ---


def _str(data: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise bad(path + key, value, "a non-empty string")
    return value


def _name(data: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
    value = _str(data, key, path, default)
    if not _NAME.match(value):
        raise bad(path + key, value, "lowercase letters, digits, '-' or '_', starting a-z")
    return value


def _number(
    data: Mapping[str, Any], key: str, path: str, default: float, *, lo: float, hi: float | None
) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad(path + key, value, "a number")
    if value < lo or (hi is not None and value > hi):
        span = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
        raise bad(path + key, value, f"a number {span}")
    return float(value)


def _duration(data: Mapping[str, Any], key: str, path: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not _DURATION.match(value):
        raise bad(path + key, value, "a Prometheus duration such as 30s, 5m or 1h")
    return value


def _str_list(data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise bad(path + key, value, "a list of non-empty strings")
    return tuple(value)


def _targets(data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    values = _str_list(data, key, path)
    for i, value in enumerate(values):
        if not _HOST_PORT.match(value):
            raise bad(f"{path}{key}[{i}]", value, "host:port")
    return values


def _table(data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise bad(path + key, value, "a table of keys")
    return value


def _known(data: Mapping[str, Any], allowed: frozenset[str] | set[str], path: str) -> None:
    for key in sorted(data, key=str):
        if key not in allowed:
            raise bad(path + str(key), data[key], f"one of the keys {', '.join(sorted(allowed))}")


# --- the parts ---


def nearest_buckets(threshold: float, buckets: tuple[float, ...]) -> tuple[float, ...]:
    """The bucket bounds either side of ``threshold`` (one at the ends)."""
    i = bisect.bisect_left(buckets, threshold)
    return tuple(buckets[j] for j in (i - 1, i) if 0 <= j < len(buckets))


def _tier(raw: Any, path: str, default_severity: str) -> BurnTier:
    if isinstance(raw, bool):
        return BurnTier(enabled=raw, severity=default_severity)
    if not isinstance(raw, Mapping):
        raise bad(path, raw, "true, false or a table with severity/enabled")
    _known(raw, {"severity", "enabled"}, path + ".")
    severity = raw.get("severity", default_severity)
    if severity not in SEVERITIES:
        raise bad(path + ".severity", severity, "one of " + ", ".join(SEVERITIES))
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise bad(path + ".enabled", enabled, "true or false")
    return BurnTier(enabled=enabled, severity=severity)


def _slo(raw: Any, path: str, buckets: tuple[float, ...]) -> SLO:
    if not isinstance(raw, Mapping):
        raise bad(path, raw, "a table describing one SLO")
    keys = {"name", "kind", "objective", "threshold", "min_requests_per_hour"}
    _known(raw, keys | {"exclude_routes", "page", "ticket", "description"}, path + ".")
    kind = raw.get("kind", "availability")
    if kind not in SLO_KINDS:
        raise bad(path + ".kind", kind, "one of " + ", ".join(SLO_KINDS))
    objective = _number(raw, "objective", path + ".", 99.9, lo=50.0, hi=99.999)
    threshold: float | None = None
    if kind == "latency":
        if "threshold" not in raw:
            raise bad(path + ".threshold", None, "seconds, a bucket bound, for a latency SLO")
        threshold = _number(raw, "threshold", path + ".", 0.0, lo=0.0, hi=None)
        if not any(math.isclose(threshold, b, rel_tol=1e-9) for b in buckets):
            near = " and ".join(f"{b:g}" for b in nearest_buckets(threshold, buckets))
            metric = HTTP_SERVER_REQUEST_DURATION.name
            raise bad(
                path + ".threshold", raw["threshold"], f"a bucket of {metric}; nearest: {near}"
            )
        threshold = next(b for b in buckets if math.isclose(threshold, b, rel_tol=1e-9))
    elif "threshold" in raw:
        raise bad(path + ".threshold", raw["threshold"], "no threshold on an availability SLO")
    page = _tier(raw.get("page", True), path + ".page", "critical")
    if page.enabled and (100.0 - objective) * 14.4 >= 100.0:
        expected = "above 93.06 when the SLO pages (a 14.4x burn must be possible), or page = false"
        raise bad(path + ".objective", raw.get("objective"), expected)
    name = _name(raw, "name", path + ".", kind)
    what = "served without a 5xx" if kind == "availability" else f"faster than {threshold:g}s"
    default_text = f"{objective:g}% of requests {what} over 30 days."
    description = raw.get("description", default_text)
    if not isinstance(description, str) or not description:
        raise bad(path + ".description", description, "a non-empty string")
    return SLO(
        name=name,
        kind=kind,
        objective=round(objective / 100.0, 12),
        threshold=threshold,
        min_requests_per_hour=_number(raw, "min_requests_per_hour", path + ".", 0, lo=0, hi=None),
        exclude_routes=_str_list(raw, "exclude_routes", path + "."),
        page=page,
        ticket=_tier(raw.get("ticket", True), path + ".ticket", "warning"),
        description=description,
    )


def _receiver(raw: Any, path: str) -> Receiver:
    if not isinstance(raw, Mapping):
        raise bad(path, raw, "a table describing one receiver")
    kinds = [k for k in _RECEIVER_KEYS if k in raw]
    if len(kinds) != 1:
        raise bad(path, dict(raw), "exactly one of " + ", ".join(_RECEIVER_KEYS))
    kind = kinds[0]
    _known(raw, {"name", "severities", kind}, path + ".")
    severities = _str_list(raw, "severities", path + ".") or SEVERITIES
    for i, sev in enumerate(severities):
        if sev not in SEVERITIES:
            raise bad(f"{path}.severities[{i}]", sev, "one of " + ", ".join(SEVERITIES))
    settings = _table(raw, kind, path + ".")
    allowed, required = _RECEIVER_KEYS[kind]
    for key in sorted(settings):
        if key in _INLINE_SECRETS:
            expected = f"no inline secret; put it in a file and set {_INLINE_SECRETS[key]}"
            raise bad(f"{path}.{kind}.{key}", "***", expected)
    _known(settings, allowed, f"{path}.{kind}.")
    for key in sorted(required - set(settings)):
        raise bad(f"{path}.{kind}.{key}", None, f"a value (required for {kind})")
    return Receiver(
        name=_str(raw, "name", path + "."),
        kind=kind,
        severities=tuple(severities),
        settings=dict(settings),
    )


def _scrape_job(raw: Any, path: str) -> ScrapeJob:
    if not isinstance(raw, Mapping):
        raise bad(path, raw, "a table with job and targets")
    _known(raw, {"job", "targets", "metrics_path", "scheme"}, path + ".")
    targets = _targets(raw, "targets", path + ".")
    if not targets:
        raise bad(path + ".targets", raw.get("targets"), "at least one host:port")
    scheme = raw.get("scheme", "http")
    if scheme not in ("http", "https"):
        raise bad(path + ".scheme", scheme, "http or https")
    return ScrapeJob(
        job=_name(raw, "job", path + "."),
        targets=targets,
        metrics_path=_str(raw, "metrics_path", path + ".", "/metrics"),
        scheme=scheme,
    )


def _alert_settings(raw: Mapping[str, Any]) -> AlertSettings:
    d = AlertSettings()
    p = "alerts."
    known = {f.name for f in dataclasses.fields(AlertSettings)} - {"disabled"}
    _known(raw, known | {"disable"}, p)
    disabled = frozenset(_str_list(raw, "disable", p))
    settings = AlertSettings(
        error_ratio_warning=_number(
            raw, "error_ratio_warning", p, d.error_ratio_warning, lo=0, hi=1
        ),
        error_ratio_critical=_number(
            raw, "error_ratio_critical", p, d.error_ratio_critical, lo=0, hi=1
        ),
        latency_p95_seconds=_number(
            raw, "latency_p95_seconds", p, d.latency_p95_seconds, lo=0, hi=None
        ),
        latency_p99_seconds=_number(
            raw, "latency_p99_seconds", p, d.latency_p99_seconds, lo=0, hi=None
        ),
        max_in_flight=_number(raw, "max_in_flight", p, d.max_in_flight, lo=1, hi=None),
        min_request_rate=_number(raw, "min_request_rate", p, d.min_request_rate, lo=0, hi=None),
        disabled=disabled,
    )
    if settings.error_ratio_critical <= settings.error_ratio_warning:
        expected = f"more than error_ratio_warning ({settings.error_ratio_warning:g})"
        raise bad(p + "error_ratio_critical", settings.error_ratio_critical, expected)
    return settings


def _collector(raw: Mapping[str, Any]) -> CollectorSettings:
    p = "otelcol."
    d = CollectorSettings()
    _known(raw, {f.name for f in dataclasses.fields(CollectorSettings)}, p)
    sampling = raw.get("tail_sampling", d.tail_sampling)
    if not isinstance(sampling, bool):
        raise bad(p + "tail_sampling", sampling, "true or false")
    return CollectorSettings(
        tail_sampling=sampling,
        slow_ms=int(_number(raw, "slow_ms", p, d.slow_ms, lo=1, hi=None)),
        remote_write_url=_str(raw, "remote_write_url", p, d.remote_write_url),
        tempo_endpoint=_str(raw, "tempo_endpoint", p, d.tempo_endpoint),
        loki_endpoint=_str(raw, "loki_endpoint", p, d.loki_endpoint),
    )


_TOP_KEYS = frozenset(
    {"service", "team", "runbook_url", "alert_prefix", "job", "namespace", "targets"}
    | {"metrics_path", "scrape_interval", "evaluation_interval", "http_buckets", "alerts"}
    | {"slos", "receivers", "scrape_configs", "alertmanagers", "image", "otelcol", "remote_write"}
)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)


def parse_service(
    data: Mapping[str, Any], *, source: str, defaults: Mapping[str, Any] | None = None
) -> Service:
    """Build a :class:`Service` from a description mapping; ``defaults`` fills keys the
    description leaves out (``service`` and ``http_buckets`` from ``[tool.tripod]``)."""
    if not isinstance(data, Mapping):
        raise bad("(top level)", data, "a table of keys")
    _known(data, _TOP_KEYS, "")
    merged = {**(defaults or {}), **data}
    service = _name(merged, "service", "")
    prefix = merged.get("alert_prefix", _camel(service))
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise bad("alert_prefix", prefix, "a CamelCase word such as Shop")
    runbook_url = _str(merged, "runbook_url", "")
    if not runbook_url.startswith(("https://", "http://")):
        raise bad("runbook_url", runbook_url, "an http(s) URL, the base of the runbook pages")
    raw_buckets = merged.get("http_buckets", HTTP_SERVER_REQUEST_DURATION.buckets)
    if (
        not isinstance(raw_buckets, list | tuple)
        or not raw_buckets
        or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in raw_buckets)
        or list(raw_buckets) != sorted(set(raw_buckets))
    ):
        raise bad("http_buckets", raw_buckets, "increasing bucket bounds in seconds")
    buckets = tuple(float(b) for b in raw_buckets)
    raw_slos = merged.get("slos", [])
    if not isinstance(raw_slos, list):
        raise bad("slos", raw_slos, "a list of SLO tables")
    slos = tuple(_slo(raw, f"slos[{i}]", buckets) for i, raw in enumerate(raw_slos))
    seen: set[str] = set()
    for i, slo in enumerate(slos):
        if slo.name in seen:
            raise bad(f"slos[{i}].name", slo.name, "a name no other SLO of this service uses")
        seen.add(slo.name)
    raw_receivers = merged.get("receivers", [])
    if not isinstance(raw_receivers, list):
        raise bad("receivers", raw_receivers, "a list of receiver tables")
    receivers = tuple(_receiver(r, f"receivers[{i}]") for i, r in enumerate(raw_receivers))
    if len({r.name for r in receivers}) != len(receivers):
        raise bad("receivers", [r.name for r in receivers], "distinct receiver names")
    raw_jobs = merged.get("scrape_configs", [])
    if not isinstance(raw_jobs, list):
        raise bad("scrape_configs", raw_jobs, "a list of tables with job and targets")
    jobs = tuple(_scrape_job(r, f"scrape_configs[{i}]") for i, r in enumerate(raw_jobs))
    remote_write = _str_list(merged, "remote_write", "")
    for i, url in enumerate(remote_write):
        if not url.startswith(("http://", "https://")):
            raise bad(f"remote_write[{i}]", url, "an http(s) URL of a remote-write endpoint")
    job = _name(merged, "job", "", service)
    if job in {j.job for j in jobs}:
        raise bad("scrape_configs", job, "job names other than the service's own job")
    return Service(
        service=service,
        team=_name(merged, "team", ""),
        runbook_url=runbook_url,
        alert_prefix=prefix,
        job=job,
        namespace=_name(merged, "namespace", "", service),
        targets=_targets(merged, "targets", "") or (f"{service}:8000",),
        metrics_path=_str(merged, "metrics_path", "", "/metrics"),
        scrape_interval=_duration(merged, "scrape_interval", "", "15s"),
        evaluation_interval=_duration(merged, "evaluation_interval", "", "30s"),
        buckets=buckets,
        alerts=_alert_settings(_table(merged, "alerts", "")),
        slos=slos,
        receivers=receivers,
        scrape_jobs=jobs,
        alertmanagers=_targets(merged, "alertmanagers", "") or ("alertmanager:9093",),
        remote_write=remote_write,
        image=_str(merged, "image", "", f"{service}:latest"),
        otelcol=_collector(_table(merged, "otelcol", "")),
        source=source,
    )
