"""SQLAlchemy: each statement an engine runs becomes a client span (a child of the current
request's span) and a ``db_client_operation_duration_seconds`` sample.

``instrument_engine(engine)`` listens to the engine's ``before_cursor_execute`` /
``after_cursor_execute`` / ``handle_error`` events; an ``AsyncEngine`` is instrumented through
its ``sync_engine``. SQLAlchemy is imported only when this is called, so the base install
stays light. Statements are sanitised (no literal values) before they reach a span.
"""

from __future__ import annotations

from typing import Any, TypeVar

from tripod.sdk.integrations._sql import QueryRecorder, QueryState, system_of

__all__ = ["instrument_engine"]

EngineT = TypeVar("EngineT")

_STATE_KEY = "tripod.query"
_MARK = "_tripod_instrumented"
_recorder = QueryRecorder()


def _before(  # noqa: PLR0917 (the event's signature)
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    try:
        dialect = conn.dialect
        attrs = {"db.driver.name": str(dialect.driver)}
        state = _recorder.start(system_of(str(dialect.name)), statement, attrs)
        if state is not None:
            conn.info.setdefault(_STATE_KEY, []).append(state)
    except Exception:  # never fail the query for tripod's bookkeeping
        return


def _pop(conn: Any) -> QueryState | None:
    stack = conn.info.get(_STATE_KEY)
    return stack.pop() if stack else None


def _after(  # noqa: PLR0917 (the event's signature)
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    try:
        state = _pop(conn)
    except Exception:  # a foreign object in conn.info: never fail the query for it
        return
    _recorder.finish(state)


def _error(exception_context: Any) -> None:
    try:
        conn = exception_context.connection
        state = _pop(conn) if conn is not None else None
    except Exception:
        return
    _recorder.finish(state, exception_context.original_exception)


def instrument_engine(engine: EngineT) -> EngineT:
    """Trace and time every statement ``engine`` (sync ``Engine`` or ``AsyncEngine``) runs.

    Returns the engine; calling it twice on the same engine instruments it once.
    """
    from sqlalchemy import event

    sync_engine = getattr(engine, "sync_engine", engine)
    if getattr(sync_engine, _MARK, False):
        return engine
    event.listen(sync_engine, "before_cursor_execute", _before)
    event.listen(sync_engine, "after_cursor_execute", _after)
    event.listen(sync_engine, "handle_error", _error)
    setattr(sync_engine, _MARK, True)
    return engine
