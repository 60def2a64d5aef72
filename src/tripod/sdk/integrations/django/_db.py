"""Django database calls as client spans and ``db_client_operation_duration_seconds``.

An ``execute_wrapper`` is appended to each connection's ``execute_wrappers`` (the list
Django's ``connection.execute_wrapper()`` context manager manages): on every connection that
exists when :func:`instrument_db` runs and, through the ``connection_created`` signal, on those
opened later (Django keeps one connection object per thread and alias).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created

from tripod.sdk.integrations._sql import QueryRecorder, system_of

__all__ = ["instrument_db"]

_recorder = QueryRecorder()


def _execute(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """The execute wrapper: a span around one ``cursor.execute``/``executemany``."""
    state = None
    try:
        vendor = str(context["connection"].vendor)
        state = _recorder.start(system_of(vendor), str(sql))
    except Exception:  # never fail the query for tripod's bookkeeping
        state = None
    try:
        result = execute(sql, params, many, context)
    except BaseException as exc:
        _recorder.finish(state, exc)
        raise
    _recorder.finish(state)
    return result


def _install(connection: Any) -> None:
    wrappers = connection.execute_wrappers
    if _execute not in wrappers:
        wrappers.append(_execute)


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    try:
        _install(connection)
    except Exception:
        return


def instrument_db() -> None:
    """Trace every query of every Django database connection; idempotent."""
    connection_created.connect(
        _on_connection_created, weak=False, dispatch_uid="tripod.instrument_db"
    )
    for connection in connections.all(initialized_only=True):
        _install(connection)
