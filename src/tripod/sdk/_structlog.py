"""The structlog side of tripod's logs: processors adding the stdlib handler's fields.

Imported only when ``tripod.sdk.logs.structlog_processors()`` is called (structlog is optional).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from opentelemetry import trace

from tripod.sdk import context as tctx
from tripod.sdk import logs

__all__ = ["processors"]


def _fields(_logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"service.name": logs.service_name()}
    span_ctx = trace.get_current_span().get_span_context()
    if span_ctx.is_valid:
        out["trace_id"] = format(span_ctx.trace_id, "032x")
        out["span_id"] = format(span_ctx.span_id, "016x")
    corr = tctx.correlation_id()
    if corr is not None:
        out["correlation_id"] = corr
    out.update(tctx.bound_fields())
    out.update(event_dict)
    if "event" in out and "message" not in out:
        out["message"] = out.pop("event")
    return out


def _redact(_logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return logs.redact(event_dict)  # type: ignore[no-any-return]


def processors(*, render: bool = True) -> list[Callable[..., Any]]:
    """See :func:`tripod.sdk.logs.structlog_processors`."""
    chain: list[Callable[..., Any]] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.processors.dict_tracebacks,
        _fields,
        _redact,
    ]
    if render:
        chain.append(structlog.processors.JSONRenderer(default=str))
    return chain
