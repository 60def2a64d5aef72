"""The structlog side of tripod's logs: processors adding the stdlib handler's fields
(both build them with :mod:`tripod.sdk._log_fields`).

Imported only when ``tripod.sdk.logs.structlog_processors()`` is called (structlog is optional).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from tripod.sdk._log_fields import add_context, redact

__all__ = ["processors"]


def _fields(_logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    add_context(out)
    out.update(event_dict)
    if "event" in out and "message" not in out:
        out["message"] = out.pop("event")
    return out


def _redact(_logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return redact(event_dict)  # type: ignore[no-any-return]


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
