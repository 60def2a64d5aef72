"""Celery: one trace from the code that enqueues a task to the worker that runs it.

:func:`instrument_celery` connects receivers to Celery's signals (never at import; ``tripod.init()``
calls it when ``instrument_celery`` is on and celery is installed):

- ``before_task_publish`` / ``after_task_publish`` (the producer): a PRODUCER span
  ``publish <task>``; ``traceparent``/``tracestate``/``baggage``, the correlation id and the
  publish time (``tripod_published_at``, Unix seconds) go into the task message's headers.
- ``task_prerun`` / ``task_retry`` / ``task_failure`` / ``task_postrun`` (the worker): a CONSUMER
  span ``<task> process`` whose parent is the producer span, current while the task runs (so its
  log lines, DB queries and HTTP calls join the trace) with the producer's correlation id bound;
  ``celery_task_duration_seconds{task,outcome}``, ``celery_task_retries_total{task}`` and
  ``celery_task_queue_wait_seconds{task}`` (run start minus publish time).
- ``worker_process_init`` (a prefork child just forked): with OTLP export on, the child builds its
  own exporters (no HTTP connection shared with the parent; its own ``process.pid``).
- ``worker_process_shutdown`` (a prefork child about to exit, e.g. ``worker_max_tasks_per_child``)
  and ``worker_shutdown``: queued spans and log records are flushed, within ``shutdown_timeout``.
  Billiard ends its children with ``os._exit``, so ``atexit`` never runs there.
- ``setup_logging``: while tripod's logging is on, Celery keeps its hands off the root logger, so
  worker log lines stay tripod's JSON with trace and correlation ids.

Metrics are recorded in the process that runs the task; with a prefork pool, set
``TRIPOD_MULTIPROC_DIR`` so the main process's ``metrics_port`` shows the children's too (those of
recycled children included). Every receiver swallows its own errors.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping, MutableMapping
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from tripod import catalog
from tripod.config import Settings
from tripod.sdk import logs, metrics, propagation, tracing

__all__ = ["PUBLISHED_AT_HEADER", "configure", "instrument_celery", "uninstrument_celery"]

_log = logging.getLogger("tripod")

#: Message header carrying the publish time (Unix seconds) for the queue-wait metric.
PUBLISHED_AT_HEADER = "tripod_published_at"
_UID = "tripod.celery."
# Producer spans waiting for after_task_publish; bounded so a publish that fails cannot leak.
_MAX_PENDING = 1024
_W3C = ("traceparent", "tracestate", "baggage")


class _Run:
    """One task run in the worker, from task_prerun to task_postrun."""

    __slots__ = ("corr_token", "ctx_token", "outcome", "span", "start")

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.span: trace.Span | None = None
        self.ctx_token: object | None = None
        self.corr_token: Token[str | None] | None = None
        self.outcome = "success"


class _State:
    metrics_enabled = True
    shutdown_timeout = 5.0
    logs_enabled = True
    correlation_header = "X-Correlation-ID"
    settings: Settings | None = None
    connected = False
    warned = False
    receivers: list[tuple[Any, Any]] = []
    publishing: dict[str, trace.Span] = {}
    running: dict[str, _Run] = {}


def configure(settings: Settings) -> None:
    """Apply ``settings`` (called by ``tripod.init()``): instrument Celery if it asks for it."""
    _State.metrics_enabled = settings.metrics_enabled
    _State.shutdown_timeout = settings.shutdown_timeout
    _State.logs_enabled = settings.logs_enabled
    _State.correlation_header = settings.correlation_header
    _State.settings = settings
    if settings.instrument_celery:
        instrument_celery()


def _internal_error() -> None:
    if not _State.warned:
        _State.warned = True
        _log.warning("tripod: Celery instrumentation failed; continuing", exc_info=True)


def _task_name(sender: Any) -> str:
    name = sender if isinstance(sender, str) else getattr(sender, "name", None)
    return str(name or "unknown")


# --- producer ---


def _before_publish(
    sender: Any = None, headers: MutableMapping[str, Any] | None = None, **kw: Any
) -> None:
    try:
        if headers is None:
            return
        name = _task_name(headers.get("task") or sender)
        task_id = str(headers.get("id") or "")
        ctx: otel_context.Context | None = None
        tracer = tracing.current_tracer()
        if tracer is not None:
            attrs: dict[str, Any] = {
                "messaging.system": "celery",
                "messaging.operation.type": "send",
                "messaging.operation.name": "publish",
                "messaging.message.id": task_id,
                "celery.task.name": name,
            }
            routing_key = kw.get("routing_key")
            if routing_key:
                attrs["messaging.destination.name"] = str(routing_key)
            span = tracer.start_span(f"publish {name}", kind=SpanKind.PRODUCER, attributes=attrs)
            ctx = trace.set_span_in_context(span)
            if len(_State.publishing) >= _MAX_PENDING:
                _State.publishing.pop(next(iter(_State.publishing))).end()
            _State.publishing[task_id] = span
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=ctx)
        headers.update(carrier)
        headers[PUBLISHED_AT_HEADER] = time.time()
    except Exception:
        _internal_error()


def _after_publish(headers: Mapping[str, Any] | None = None, **kw: Any) -> None:
    try:
        span = _State.publishing.pop(str((headers or {}).get("id") or ""), None)
        if span is not None:
            span.end()
    except Exception:
        _internal_error()


# --- worker ---


def _header(request: Any, key: str) -> Any:
    """A message header as the worker sees it: an attribute of ``task.request``, or in its
    ``headers`` mapping (where Celery puts custom headers of some message protocols)."""
    value = getattr(request, key, None)
    if value is None:
        nested = getattr(request, "headers", None)
        if isinstance(nested, Mapping):
            value = nested.get(key)
    return value


def _carrier(request: Any) -> dict[str, str]:
    """The propagation headers of the message being run, with lower-case keys."""
    out: dict[str, str] = {}
    for key in (*_W3C, _State.correlation_header):
        value = _header(request, key)
        if isinstance(value, str):
            out[key.lower()] = value
    return out


def _prerun(task_id: str | None = None, task: Any = None, **kw: Any) -> None:
    if not task_id:  # Celery always names the run; without an id postrun could not end it
        return
    try:
        run = _Run()
        request = getattr(task, "request", None)
        name = _task_name(task)
        carrier = _carrier(request)
        parent = propagation.extract(carrier)
        corr = carrier.get(_State.correlation_header.lower())
        run.corr_token = propagation.set_correlation_id(propagation.clean_correlation_id(corr))
        tracer = tracing.current_tracer()
        if tracer is not None:
            attrs: dict[str, Any] = {
                "messaging.system": "celery",
                "messaging.operation.type": "process",
                "messaging.operation.name": "process",
                "messaging.message.id": str(task_id or ""),
                "celery.task.name": name,
                "celery.task.retries": int(getattr(request, "retries", 0) or 0),
            }
            delivery = getattr(request, "delivery_info", None)
            if isinstance(delivery, Mapping) and delivery.get("routing_key"):
                attrs["messaging.destination.name"] = str(delivery["routing_key"])
            run.span = tracer.start_span(
                f"{name} process", context=parent, kind=SpanKind.CONSUMER, attributes=attrs
            )
            run.ctx_token = otel_context.attach(trace.set_span_in_context(run.span, parent))
        published = _header(request, PUBLISHED_AT_HEADER)
        if _State.metrics_enabled and isinstance(published, int | float):
            spec = catalog.CELERY_TASK_QUEUE_WAIT
            hist = metrics.histogram(spec.name, spec.help, spec.labels, spec.unit, spec.buckets)
            hist.labels(name).observe(max(0.0, time.time() - float(published)))
        _State.running[str(task_id)] = run
    except Exception:
        _internal_error()


def _retry(sender: Any = None, request: Any = None, reason: Any = None, **kw: Any) -> None:
    try:
        name = _task_name(sender)
        run = _State.running.get(str(getattr(request, "id", "")))
        if run is not None:
            run.outcome = "retry"
            if run.span is not None:
                run.span.set_attribute("celery.retry.reason", str(reason)[:256])
        if _State.metrics_enabled:
            spec = catalog.CELERY_TASK_RETRIES
            metrics.counter(spec.name, spec.help, spec.labels, spec.unit).labels(name).inc()
    except Exception:
        _internal_error()


def _failure(task_id: str | None = None, exception: BaseException | None = None, **kw: Any) -> None:
    try:
        run = _State.running.get(str(task_id))
        if run is None:
            return
        run.outcome = "failure"
        if run.span is not None and exception is not None:
            run.span.record_exception(exception)
            run.span.set_attribute("error.type", type(exception).__qualname__)
            run.span.set_status(
                Status(StatusCode.ERROR, f"{type(exception).__name__}: {exception}")
            )
    except Exception:
        _internal_error()


def _postrun(task_id: str | None = None, task: Any = None, state: Any = None, **kw: Any) -> None:
    try:
        run = _State.running.pop(str(task_id), None)
        if run is None:
            return
        duration = time.perf_counter() - run.start
        if state == "FAILURE":
            run.outcome = "failure"
        elif state == "RETRY":
            run.outcome = "retry"
        if run.span is not None:
            run.span.set_attribute("celery.task.outcome", run.outcome)
            if state:
                run.span.set_attribute("celery.task.state", str(state))
            run.span.end()
        if run.ctx_token is not None:
            otel_context.detach(run.ctx_token)  # type: ignore[arg-type]
        if run.corr_token is not None:
            propagation.reset_correlation_id(run.corr_token)
        if _State.metrics_enabled:
            spec = catalog.CELERY_TASK_DURATION
            hist = metrics.histogram(spec.name, spec.help, spec.labels, spec.unit, spec.buckets)
            hist.labels(_task_name(task), run.outcome).observe(duration)
    except Exception:
        _internal_error()


# --- process lifecycle ---


def _record_dropped(signal: str, count: int) -> None:
    with contextlib.suppress(Exception):
        metrics.record_dropped(signal, count)


def _child_started(**kw: Any) -> None:
    """A prefork child has just been forked: give it its own exporters.

    The export threads restart by themselves after a fork, but the child would share the
    parent's HTTP keep-alive connections to the collector (two processes on one socket) and
    report the parent's ``process.pid``. Rebuilding tracing and logging for this process fixes
    both; what the parent had queued is not the child's to send.
    """
    settings = _State.settings
    if settings is None or settings.sdk_disabled or not settings.otlp_endpoint:
        return
    try:
        resource = tracing.build_resource(settings)
        tracing.configure(settings, resource, _record_dropped)
        logs.configure(settings, resource, _record_dropped)
    except Exception:
        _internal_error()


def _flush(**kw: Any) -> None:
    """Export what is queued before the process goes away (bounded by ``shutdown_timeout``)."""
    try:
        deadline = time.monotonic() + _State.shutdown_timeout
        tracing.force_flush(_State.shutdown_timeout)
        logs.force_flush(max(0.0, deadline - time.monotonic()))
    except Exception:
        _internal_error()


def _keep_logging(**kw: Any) -> None:
    """Connected to ``setup_logging``: a receiver there stops Celery configuring logging."""


def instrument_celery(app: Any = None) -> bool:
    """Trace and measure Celery tasks in this process (producer and worker); False if celery is
    not installed. Idempotent. ``tripod.init()`` calls it unless ``instrument_celery`` is off.

    Celery's signals are process-wide, so every app in the process is covered; passing ``app``
    also turns off its ``worker_hijack_root_logger`` while tripod's logging is on.
    """
    try:
        from celery import signals  # optional dependency, looked for only when asked
    except ImportError:
        return False
    if app is not None and _State.logs_enabled:
        with contextlib.suppress(Exception):
            app.conf.worker_hijack_root_logger = False
    if _State.connected:
        return True
    wiring: list[tuple[Any, Any]] = [
        (signals.before_task_publish, _before_publish),
        (signals.after_task_publish, _after_publish),
        (signals.task_prerun, _prerun),
        (signals.task_retry, _retry),
        (signals.task_failure, _failure),
        (signals.task_postrun, _postrun),
        (signals.worker_process_init, _child_started),
        (signals.worker_process_shutdown, _flush),
        (signals.worker_shutdown, _flush),
    ]
    if _State.logs_enabled:
        wiring.append((signals.setup_logging, _keep_logging))
    for signal, receiver in wiring:
        signal.connect(receiver, weak=False, dispatch_uid=_UID + receiver.__name__)
    _State.receivers = wiring
    _State.connected = True
    return True


def uninstrument_celery() -> None:
    """Disconnect every receiver (tests, or an app that wants plain Celery again)."""
    for signal, receiver in _State.receivers:
        with contextlib.suppress(Exception):
            signal.disconnect(receiver, dispatch_uid=_UID + receiver.__name__)
    _State.receivers = []
    _State.connected = False
