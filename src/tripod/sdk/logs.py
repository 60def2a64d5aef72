"""Logs: JSON lines on stdlib logging, trace/correlation context, redaction, OTLP export.

One handler on the root logger writes one JSON object per line to **stderr** (the stream Python
logging and uvicorn use; stdout stays the program's own). Each record carries ``timestamp``
(RFC 3339 UTC, microseconds), ``level``, ``logger``, ``message``, ``service.name``,
``trace_id``/``span_id`` of the current span, ``correlation_id``, fields bound with
``tripod.bind()``, ``extra=`` fields, and exceptions as ``exception.type/message/stacktrace``.
Access log lines (one per request) are buffered and written in one go by a flusher thread at
most ``ACCESS_FLUSH_INTERVAL`` seconds later (or as soon as 512 are waiting); any other record, a
stream change, ``flush()``, ``shutdown()`` and interpreter exit write them first, so order is
kept and a process that exits normally (or by tripod's SIGTERM flush) loses none.
Secrets are redacted by key name and ``Bearer`` tokens inside strings. The fields every record
shares are built in :mod:`tripod.sdk._log_fields`, as for the structlog processors. When an
OTLP endpoint is set, records are also exported to ``/v1/logs`` through the bounded
drop-and-count queue.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource

from tripod.config import Settings
from tripod.sdk import propagation
from tripod.sdk._export import BoundedLogProcessor, DropCounter
from tripod.sdk._log_fields import (
    DEFAULT_REDACT_KEYS,
    REDACTED,
    add_context,
    redact,
    redact_item,
    redact_str,
    service_name,
)
from tripod.sdk._log_fields import configure as configure_fields
from tripod.sdk._otlp import OtlpHttpSender

__all__ = [
    "ACCESS_FLUSH_INTERVAL",
    "DEFAULT_REDACT_KEYS",
    "REDACTED",
    "ConsoleFormatter",
    "JsonFormatter",
    "TripodHandler",
    "configure",
    "flush",
    "get_logger",
    "redact",
    "service_name",
    "set_log_level",
    "set_stream",
    "shutdown",
    "structlog_processors",
]

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_NO_OTLP_PREFIXES = ("opentelemetry", "tripod.export")
_QUIET_PREFIX = "opentelemetry.exporter.otlp"

_handler: TripodHandler | None = None
_previous_level = logging.WARNING
_log_processor: BoundedLogProcessor | None = None


_last_second = -1
_last_prefix = ""


def _timestamp(created: float) -> str:
    """RFC 3339 UTC with microseconds; the seconds part is cached (it changes once a second)."""
    global _last_second, _last_prefix
    second = int(created)
    if second != _last_second:
        _last_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _last_second = second
    return f"{_last_prefix}.{int((created - second) * 1_000_000):06d}Z"


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of ``record``, redacted, in output order."""
    fields: dict[str, Any] = {
        "timestamp": _timestamp(record.created),
        "level": record.levelname,
        "logger": record.name,
        "message": redact_str(record.getMessage()),
    }
    add_context(fields)
    for key, value in record.__dict__.items():
        if key not in _STANDARD:
            fields[key] = redact_item(key, value, 0)
    if record.exc_info and record.exc_info[0] is not None:
        exc_type, exc, tb = record.exc_info
        fields["exception.type"] = exc_type.__name__
        fields["exception.message"] = redact_str(str(exc))
        fields["exception.stacktrace"] = redact_str(
            "".join(traceback.format_exception(exc_type, exc, tb))
        )
    elif record.exc_text:
        fields["exception.stacktrace"] = record.exc_text
    if record.stack_info:
        fields["stack_info"] = record.stack_info
    return fields


_quote: Callable[[str], str] = json.encoder.encode_basestring_ascii
_service_quoted = _quote(service_name())


def _dumps(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, default=str, ensure_ascii=False, separators=(",", ":"))


class JsonFormatter(logging.Formatter):
    """One JSON object per record (usable on any handler)."""

    def format(self, record: logging.LogRecord) -> str:
        return _dumps(record_fields(record))


_CONSOLE_SKIP = {"timestamp", "level", "logger", "message", "service.name"}


class ConsoleFormatter(logging.Formatter):
    """A readable line for development: time, level, logger, message, then key=value fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record)
        stack = fields.pop("exception.stacktrace", None)
        rest = " ".join(f"{k}={v}" for k, v in fields.items() if k not in _CONSOLE_SKIP)
        line = f"{fields['timestamp'][11:23]} {fields['level']:<8} {fields['logger']}: "
        line += f"{fields['message']}" + (f"  {rest}" if rest else "")
        return line + (f"\n{stack.rstrip()}" if stack else "")


class _Quiet(logging.Filter):
    """Drops the OTLP exporters' per-retry chatter; tripod's export queue reports outages once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(_QUIET_PREFIX)


#: Seconds an access log line may wait in memory before the flusher thread writes it.
ACCESS_FLUSH_INTERVAL = 0.25
#: Lines waiting that make the request thread write them itself (bounds memory and latency).
_MAX_PENDING = 512


class TripodHandler(logging.StreamHandler[IO[str]]):
    """Writes formatted records to a stream and, when configured, to OTLP.

    Access lines (:meth:`write_line`) are queued and written in batches (see the module doc);
    every other path writes the queued lines first, under the handler's lock.
    """

    def __init__(
        self, stream: IO[str] | None = None, *, console: bool = False, otlp: Any = None
    ) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self._console = console
        self._otlp = otlp
        self._pending: collections.deque[str] = collections.deque()
        self.addFilter(_Quiet())
        self.setFormatter(ConsoleFormatter() if console else JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        # Called by Handler.handle with self.lock held.
        try:
            fields = record_fields(record)
            text = self.format(record) if self._console else _dumps(fields)
            if self._pending:
                self._drain()
            stream = self.stream
            stream.write(text + "\n")
            stream.flush()
            if self._otlp is not None and not record.name.startswith(_NO_OTLP_PREFIXES):
                self.emit_otlp(record.created, record.levelno, fields)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def write_line(self, text: str) -> None:
        """Fast path for tripod's own records (the access log): no LogRecord, same output.

        The line is queued (a deque append is thread-safe); the flusher thread writes it within
        ``ACCESS_FLUSH_INTERVAL`` seconds, or this thread does when ``_MAX_PENDING`` wait.
        """
        pending = self._pending
        pending.append(text)
        if len(pending) >= _MAX_PENDING:
            self.flush()

    def _drain(self) -> None:
        """Write the queued lines in one call (the caller holds the lock)."""
        pending = self._pending
        lines = [pending.popleft() for _ in range(len(pending))]
        if lines:
            self.stream.write("".join(lines))

    def flush(self) -> None:
        """Write the queued access lines, then flush the stream."""
        with self.lock:  # type: ignore[union-attr]
            try:
                if self._pending:
                    self._drain()
                stream = self.stream
                if stream is not None and hasattr(stream, "flush"):
                    stream.flush()
            except ValueError:  # the stream was closed under us (interpreter exit)
                self._pending.clear()

    def emit_otlp(
        self,
        created: float,
        levelno: int,
        fields: dict[str, Any],
        span: trace.Span | None = None,
    ) -> None:
        """Queue one record's fields for OTLP export (non-blocking; dropped and counted when
        the queue is full). Trace context: ``span``, else the current span."""
        attrs: dict[str, Any] = {}
        for key, value in fields.items():
            if key in _NOT_ATTRIBUTES:
                continue
            attrs["logger.name" if key == "logger" else key] = (
                value if isinstance(value, str | bool | int | float) else str(value)
            )
        ctx = (span if span is not None else trace.get_current_span()).get_span_context()
        self._otlp.put(
            (
                int(created * 1e9),
                time.time_ns(),
                ctx if ctx.is_valid else None,
                _SEVERITY.get(levelno, _UNSPECIFIED),
                fields["level"],
                fields["message"],
                attrs,
            )
        )


_NOT_ATTRIBUTES = frozenset(
    ("timestamp", "level", "message", "service.name", "trace_id", "span_id")
)


#: logging level -> OTLP SeverityNumber (DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21).
_SEVERITY = {logging.DEBUG: 5, logging.INFO: 9, logging.WARNING: 13, logging.ERROR: 17,
             logging.CRITICAL: 21}  # fmt: skip
_UNSPECIFIED = 0


_flusher: threading.Thread | None = None


def _flush_loop() -> None:
    while True:
        time.sleep(ACCESS_FLUSH_INTERVAL)
        handler = _handler
        if handler is not None and handler._pending:
            with contextlib.suppress(Exception):  # never let the flusher die; retried next round
                handler.flush()


def _start_flusher() -> None:
    global _flusher
    if _flusher is None or not _flusher.is_alive():
        _flusher = threading.Thread(target=_flush_loop, name="tripod-log-flush", daemon=True)
        _flusher.start()


def _after_fork_in_child() -> None:
    """The parent writes the lines it had queued; the child starts empty, with its own
    flusher (threads do not survive fork)."""
    global _flusher
    _flusher = None
    if _handler is not None:
        _handler._pending.clear()
        _start_flusher()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def flush() -> None:
    """Write queued access log lines to the stream now (tests read the stream after this)."""
    if _handler is not None:
        _handler.flush()


def _otlp_logs(settings: Settings, resource: Resource, on_drop: DropCounter) -> Any:
    global _log_processor
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    sender = OtlpHttpSender(
        f"{settings.otlp_endpoint}/v1/logs",
        dict(settings.otlp_headers),
        settings.otlp_timeout / 1000,
    )
    _log_processor = BoundedLogProcessor(
        sender,
        on_drop,
        resource=resource,
        scope=InstrumentationScope("tripod"),
        max_size=settings.export_queue_size,
        shutdown_timeout=settings.shutdown_timeout,
    )
    return _log_processor


def configure(
    settings: Settings,
    resource: Resource,
    on_drop: DropCounter,
    *,
    stream: IO[str] | None = None,
) -> None:
    """Install tripod's handler on the root logger (replacing a previous one) and set the level."""
    global _service_quoted, _handler
    shutdown(0.0)
    configure_fields(settings.service_name, settings.redact_keys)
    _service_quoted = _quote(settings.service_name)
    _access_parts.clear()  # they hold the service name
    if not settings.logs_enabled:
        return
    otlp = None
    if settings.otlp_endpoint and settings.otlp_protocol == "http/protobuf":
        otlp = _otlp_logs(settings, resource, on_drop)
    _handler = TripodHandler(stream, console=settings.log_format == "console", otlp=otlp)
    root = logging.getLogger()
    global _previous_level
    _previous_level = root.level
    root.addHandler(_handler)
    set_log_level(settings.log_level)
    _start_flusher()


def shutdown(timeout: float) -> None:
    """Remove tripod's handler; flush queued OTLP log records within ``timeout`` seconds."""
    global _handler, _log_processor
    if _handler is not None:
        _handler.flush()
        root = logging.getLogger()
        root.removeHandler(_handler)
        root.setLevel(_previous_level)
        _handler = None
    if _log_processor is not None:
        _log_processor.queue.shutdown(timeout)
        _log_processor.shutdown()
    _log_processor = None


def set_stream(stream: IO[str]) -> bool:
    """Write tripod's log lines to ``stream`` from now on (tests: ``tripod.testing``); False
    when logging is not set up."""
    if _handler is None:
        return False
    _handler.setStream(stream)
    return True


def force_flush(timeout: float = 5.0) -> bool:
    """Ship queued OTLP log records now."""
    return _log_processor is None or _log_processor.queue.force_flush(timeout)


_access = logging.getLogger("tripod.access")


def access(
    method: str,
    route: str,
    status: int,
    *,
    duration_ms: float,
    correlation_id: str,
    span: trace.Span | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
    created: float | None = None,
) -> None:
    """Write the access log line of one request (``tripod.access`` logger, level INFO).

    ``created``: the line's time in epoch seconds (the end of the request's span), else now.

    When tripod's JSON handler is the only place the line can go (the usual case) the line is
    assembled directly — it is written once per request, so it is worth a hand-built string;
    otherwise a normal LogRecord goes through logging.
    """
    if not _access.isEnabledFor(logging.INFO):
        return
    fields: dict[str, Any] = {
        "http.request.method": method,
        "http.route": route,
        "http.response.status_code": status,
        "duration_ms": duration_ms,
        "correlation_id": correlation_id,
    }
    handler = _handler
    root_handlers = logging.root.handlers
    if (
        handler is None
        or handler._console
        or _access.handlers
        or not _access.propagate
        or len(root_handlers) != 1
        or root_handlers[0] is not handler
    ):
        if trace_id is not None:
            fields["trace_id"] = trace_id
            fields["span_id"] = span_id
        record = _access.makeRecord(
            "tripod.access", logging.INFO, "", 0, "%s %s %s", (method, route, status), None,
            extra=fields,
        )  # fmt: skip
        if span is None:
            _access.handle(record)
        else:  # the request's span is no longer current here: OTLP gets its ids from it
            with trace.use_span(span, end_on_exit=False):
                _access.handle(record)
        return
    if created is None:
        created = time.time()
    parts = _access_parts.get((method, route, status))
    if parts is None:
        parts = _access_parts_for(method, route, status)
    head, mid, message = parts
    ids = f',"trace_id":"{trace_id}","span_id":"{span_id}"' if trace_id is not None else ""
    bound = propagation.bound_fields()
    extra = ""
    redacted: dict[str, Any] | None = None
    if bound:
        redacted = {k: redact_item(k, v, 0) for k, v in bound.items() if k not in fields}
        extra = "," + _dumps(redacted)[1:-1] if redacted else ""
    text = (
        f'{{"timestamp":"{_timestamp(created)}"{head}{ids}{extra}{mid}{float(duration_ms)!r},'
        f'"correlation_id":{_quote(correlation_id)}}}\n'
    )
    try:
        handler.write_line(text)
        otlp = handler._otlp
        if otlp is not None:
            # What emit_otlp() would make of this record's fields, built directly.
            attrs: dict[str, Any] = fields
            if redacted:
                for key, value in redacted.items():
                    attrs[key] = (
                        value if isinstance(value, str | bool | int | float) else str(value)
                    )
            attrs["logger.name"] = "tripod.access"
            ctx = (span if span is not None else trace.get_current_span()).get_span_context()
            otlp.put(
                (
                    int(created * 1e9),
                    time.time_ns(),
                    ctx if ctx.is_valid else None,
                    _SEVERITY[logging.INFO],
                    "INFO",
                    message,
                    attrs,
                )
            )
    except Exception:
        handler.handleError(_access.makeRecord("tripod.access", 20, "", 0, "", (), None))


#: (method, route, status) -> the constant parts of its access line: after the timestamp up to
#: the ids, from the end of the bound fields up to the duration, and the message.
_access_parts: dict[tuple[str, str, int], tuple[str, str, str]] = {}
_ACCESS_PARTS_MAX = 10_000


def _access_parts_for(method: str, route: str, status: int) -> tuple[str, str, str]:
    message = f"{method} {route} {status}"
    head = (
        f',"level":"INFO","logger":"tripod.access","message":{_quote(message)},'
        f'"service.name":{_service_quoted}'
    )
    mid = (
        f',"http.request.method":{_quote(method)},"http.route":{_quote(route)},'
        f'"http.response.status_code":{int(status)},"duration_ms":'
    )
    parts = (head, mid, message)
    if len(_access_parts) < _ACCESS_PARTS_MAX:
        _access_parts[(method, route, status)] = parts
    return parts


def get_logger(name: str | None = None) -> logging.Logger:
    """A stdlib logger; its records get tripod's fields. Use ``extra={...}`` for more fields."""
    return logging.getLogger(name)


_LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "critical": 50}


def set_log_level(level: str | int) -> None:
    """Change the root logger's level at runtime (``"debug"``, ``logging.INFO``, ...)."""
    if isinstance(level, str):
        if level.lower() not in _LEVELS:
            from tripod.config import ConfigError

            msg = f"log level {level!r} is not one of debug, info, warning, error, critical"
            raise ConfigError(msg)
        level = _LEVELS[level.lower()]
    logging.getLogger().setLevel(level)


def structlog_processors(*, render: bool = True) -> list[Callable[..., Any]]:
    """A structlog processor chain giving the same fields and redaction as the stdlib handler.

    ``structlog.configure(processors=tripod.sdk.logs.structlog_processors())``; pass
    ``render=False`` to append your own renderer. Needs ``pip install 'tripod[structlog]'``.
    """
    from tripod.sdk._structlog import processors

    return processors(render=render)


def iter_json_lines(text: str) -> Iterable[dict[str, Any]]:
    """Parse the JSON lines in ``text``, skipping any other output (tests, tools)."""
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue
