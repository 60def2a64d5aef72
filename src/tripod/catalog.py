"""The metric catalog: the one place that defines each metric tripod emits.

The SDK records these; ``tripod generate`` and ``tripod check`` read them from here (see
shared/DESIGN.md), so a metric's name, labels and buckets are written exactly once.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from tripod.config import DEFAULT_HTTP_BUCKETS

__all__ = [
    "CACHE_REQUESTS",
    "CATALOG",
    "CELERY_TASK_DURATION",
    "CELERY_TASK_QUEUE_WAIT",
    "CELERY_TASK_RETRIES",
    "CIRCUIT_BREAKER_STATE",
    "CIRCUIT_BREAKER_TRANSITIONS",
    "DB_CLIENT_OPERATION_DURATION",
    "DB_DURATION_BUCKETS",
    "DEPENDENCY_UP",
    "FUNCTION_CALLS",
    "HEALTH_CHECK_DURATION",
    "HEALTH_CHECK_STATUS",
    "HTTP_CLIENT_REQUEST_DURATION",
    "HTTP_SERVER_ACTIVE_REQUESTS",
    "HTTP_SERVER_REQUEST_BODY_SIZE",
    "HTTP_SERVER_REQUEST_DURATION",
    "HTTP_SERVER_RESPONSE_BODY_SIZE",
    "JOB_DURATION",
    "JOB_DURATION_BUCKETS",
    "JOB_RUNS",
    "RETRY_ATTEMPTS",
    "SIZE_BUCKETS",
    "TELEMETRY_DROPPED",
    "UNMATCHED_ROUTE",
    "MetricSpec",
    "by_name",
    "le_label",
]


def _go_float(value: float) -> str:
    """``value`` as Go (and so Prometheus, and prometheus_client's ``floatToGoString``) spell
    it; kept here so that neither ``import tripod`` nor a request imports prometheus_client."""
    value = float(value)
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if math.isnan(value):
        return "NaN"
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:  # Go switches to exponents sooner than Python
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


MetricType = Literal["counter", "gauge", "histogram", "summary", "info"]

#: ``http_route`` label value for requests that matched no route (404s, scanners): one series,
#: never the raw path.
UNMATCHED_ROUTE = "__unmatched__"

#: Body-size buckets in bytes: 100 B to 10 MB, roughly x4 apart.
SIZE_BUCKETS = (100.0, 400.0, 1_600.0, 6_400.0, 25_600.0, 102_400.0, 409_600.0, 1_638_400.0, 1e7)


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    """A metric family as Prometheus exposes it.

    ``name`` is the family name (a counter's ``_total`` suffix is not part of it, as in
    prometheus_client); :attr:`series_names` lists the names its samples carry.
    """

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...] = ()
    unit: str = ""
    buckets: tuple[float, ...] | None = None
    otel_name: str | None = None

    @property
    def series_names(self) -> tuple[str, ...]:
        if self.type == "counter":
            return (f"{self.name}_total", f"{self.name}_created")
        if self.type == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        if self.type == "summary":
            return (self.name, f"{self.name}_sum", f"{self.name}_count")
        if self.type == "info":
            return (f"{self.name}_info",)
        return (self.name,)


_HTTP_LABELS = ("http_request_method", "http_route", "http_response_status_code")

HTTP_SERVER_REQUEST_DURATION = MetricSpec(
    name="http_server_request_duration_seconds",
    type="histogram",
    help="Duration of HTTP server requests.",
    labels=_HTTP_LABELS,
    unit="seconds",
    buckets=DEFAULT_HTTP_BUCKETS,
    otel_name="http.server.request.duration",
)
HTTP_SERVER_ACTIVE_REQUESTS = MetricSpec(
    name="http_server_active_requests",
    type="gauge",
    help="Number of active HTTP server requests.",
    labels=("http_request_method",),
    unit="requests",
    otel_name="http.server.active_requests",
)
HTTP_SERVER_REQUEST_BODY_SIZE = MetricSpec(
    name="http_server_request_body_size_bytes",
    type="histogram",
    help="Size of HTTP server request bodies.",
    labels=_HTTP_LABELS,
    unit="bytes",
    buckets=SIZE_BUCKETS,
    otel_name="http.server.request.body.size",
)
HTTP_SERVER_RESPONSE_BODY_SIZE = MetricSpec(
    name="http_server_response_body_size_bytes",
    type="histogram",
    help="Size of HTTP server response bodies.",
    labels=_HTTP_LABELS,
    unit="bytes",
    buckets=SIZE_BUCKETS,
    otel_name="http.server.response.body.size",
)
HTTP_CLIENT_REQUEST_DURATION = MetricSpec(
    name="http_client_request_duration_seconds",
    type="histogram",
    help="Duration of outgoing HTTP requests (requests, httpx).",
    # Bounded: no path or URL; error_type is an exception class or a 4xx/5xx status.
    labels=("http_request_method", "http_response_status_code", "server_address", "error_type"),
    unit="seconds",
    buckets=DEFAULT_HTTP_BUCKETS,
    otel_name="http.client.request.duration",
)
#: Database operation buckets in seconds, as OpenTelemetry's semconv advises for
#: ``db.client.operation.duration``: 1 ms to 10 s.
DB_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)

DB_CLIENT_OPERATION_DURATION = MetricSpec(
    name="db_client_operation_duration_seconds",
    type="histogram",
    help="Duration of database client operations.",
    labels=("db_system", "db_operation_name"),
    unit="seconds",
    buckets=DB_DURATION_BUCKETS,
    otel_name="db.client.operation.duration",
)
HEALTH_CHECK_STATUS = MetricSpec(
    name="tripod_health_check_status",
    type="gauge",
    help="Result of the last run of a health check: 1 pass, 0 fail.",
    labels=("check",),
)
HEALTH_CHECK_DURATION = MetricSpec(
    name="tripod_health_check_duration_seconds",
    type="gauge",
    help="Duration of the last run of a health check (its timeout if it timed out).",
    labels=("check",),
    unit="seconds",
)
# Domain helpers (tripod.sdk.helpers): label values are names the code chooses, at most 100
# distinct per label (beyond: "__other__").
FUNCTION_CALLS = MetricSpec(
    name="tripod_function_calls",
    type="counter",
    help="Calls of @tripod.counted functions, by outcome (success, error).",
    labels=("function", "outcome"),
)
CIRCUIT_BREAKER_STATE = MetricSpec(
    name="tripod_circuit_breaker_state",
    type="gauge",
    help="State of a circuit breaker: 0 closed, 1 open, 2 half_open.",
    labels=("breaker",),
)
CIRCUIT_BREAKER_TRANSITIONS = MetricSpec(
    name="tripod_circuit_breaker_transitions",
    type="counter",
    help="State changes of a circuit breaker.",
    labels=("breaker", "from_state", "to_state"),
)
RETRY_ATTEMPTS = MetricSpec(
    name="tripod_retry_attempts",
    type="counter",
    help="Retries of an operation (attempts after the first).",
    labels=("operation",),
)
CACHE_REQUESTS = MetricSpec(
    name="tripod_cache_requests",
    type="counter",
    help="Cache lookups, by result (hit, miss).",
    labels=("cache", "result"),
)
DEPENDENCY_UP = MetricSpec(
    name="tripod_dependency_up",
    type="gauge",
    help="Whether a dependency (database, API, queue) is reachable: 1 up, 0 down.",
    labels=("dependency",),
)
#: Background job buckets in seconds: 10 ms to 1 h.
JOB_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
JOB_RUNS = MetricSpec(
    name="tripod_job_runs",
    type="counter",
    help="Background job runs, by outcome (success, error).",
    labels=("job", "outcome"),
)
JOB_DURATION = MetricSpec(
    name="tripod_job_duration_seconds",
    type="histogram",
    help="Duration of background job runs.",
    labels=("job",),
    unit="seconds",
    buckets=JOB_DURATION_BUCKETS,
)
# Celery (tripod.sdk.integrations.celery): the task label is the registered task name.
CELERY_TASK_DURATION = MetricSpec(
    name="celery_task_duration_seconds",
    type="histogram",
    help="Duration of Celery task runs in the worker, by outcome (success, failure, retry).",
    labels=("task", "outcome"),
    unit="seconds",
    buckets=JOB_DURATION_BUCKETS,
)
CELERY_TASK_RETRIES = MetricSpec(
    name="celery_task_retries",
    type="counter",
    help="Retries Celery tasks asked for (self.retry or autoretry_for).",
    labels=("task",),
)
CELERY_TASK_QUEUE_WAIT = MetricSpec(
    name="celery_task_queue_wait_seconds",
    type="histogram",
    help="Time from a task's publish to the start of its run (queue, prefetch, countdown).",
    labels=("task",),
    unit="seconds",
    buckets=JOB_DURATION_BUCKETS,
)
TELEMETRY_DROPPED = MetricSpec(
    name="tripod_telemetry_dropped",
    type="counter",
    help="Telemetry items tripod dropped instead of slowing the app (full queue, dead backend).",
    labels=("signal",),
)

CATALOG: tuple[MetricSpec, ...] = (
    HTTP_SERVER_REQUEST_DURATION,
    HTTP_SERVER_ACTIVE_REQUESTS,
    HTTP_SERVER_REQUEST_BODY_SIZE,
    HTTP_SERVER_RESPONSE_BODY_SIZE,
    HTTP_CLIENT_REQUEST_DURATION,
    DB_CLIENT_OPERATION_DURATION,
    HEALTH_CHECK_STATUS,
    HEALTH_CHECK_DURATION,
    FUNCTION_CALLS,
    CIRCUIT_BREAKER_STATE,
    CIRCUIT_BREAKER_TRANSITIONS,
    RETRY_ATTEMPTS,
    CACHE_REQUESTS,
    DEPENDENCY_UP,
    JOB_RUNS,
    JOB_DURATION,
    CELERY_TASK_DURATION,
    CELERY_TASK_RETRIES,
    CELERY_TASK_QUEUE_WAIT,
    TELEMETRY_DROPPED,
)


def le_label(bound: float) -> str:
    """A bucket bound as the ``le`` label value on /metrics (``1.0``, ``0.25``, ``+Inf``)."""
    return _go_float(bound)


def by_name(name: str) -> MetricSpec | None:
    """The catalog entry whose family name, or one of whose series names, is ``name``."""
    for spec in CATALOG:
        if name == spec.name or name in spec.series_names:
            return spec
    return None
