"""What Django and SQLAlchemy share per database call: a sanitised statement, a client span and
``db_client_operation_duration_seconds``.

:func:`sanitize` keeps a statement's structure and drops its values: string, number, hex and
dollar-quoted literals become ``?``, an ``IN (...)`` list of literals becomes ``IN (?)``,
comments go (they may hold values too); bind placeholders (``?``, ``%s``, ``%(name)s``, ``$1``,
``:name``) and identifiers stay as written. Nothing here raises into the app: a failure of
tripod's own bookkeeping is logged once, counted as dropped, and the query goes on.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from tripod import catalog
from tripod.sdk import metrics, tracing
from tripod.sdk._active import current_settings
from tripod.sdk.metrics import Histogram
from tripod.sdk.propagation import span_ids

__all__ = ["QueryRecorder", "QueryState", "operation_name", "sanitize", "system_of"]

_log = logging.getLogger("tripod")

# One token at a time, first match wins. Literals and comments are replaced; everything else
# (identifiers, quoted identifiers, placeholders, operators) is kept.
_TOKEN = re.compile(
    r"""
      (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<string>[EeNnBbXx]?'(?:[^'\\]|\\.|'')*(?:'|\Z))
    | (?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$.*?(?:\$(?P=tag)?\$|\Z))
    | (?P<placeholder>\?\d*|%\([^)]*\)s|%s|\$\d+|(?<!:):[A-Za-z_]\w*|@[A-Za-z_]\w*)
    | (?P<quoted>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
    | (?P<number>0[xX][0-9A-Fa-f]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<word>[A-Za-z_][\w$]*)
    | (?P<space>\s+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
# A minus right after one of these is a sign (``= -5``), not a subtraction (``a - 5``).
_SIGN_AFTER = frozenset(("(", ",", "=", "<", ">", "+", "-", "*", "/", "%", "")) | frozenset(
    ("AND", "OR", "NOT", "IN", "BY", "LIMIT", "OFFSET", "VALUES", "SELECT", "WHERE", "THEN",
     "ELSE", "WHEN", "BETWEEN", "RETURN", "IS", "LIKE", "SET", "ON", "HAVING", "CASE")
)  # fmt: skip
_LITERAL = "\x00"  # what a literal becomes until IN lists are folded; then "?"
_IN_LIST = re.compile(r"\b(IN)\s*\(\s*\x00(?:\s*,\s*\x00)*\s*\)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_CACHE_MAX = 2_000  # statements (an app runs a bounded set of them; values are parameters)
_CACHE_LONGEST = 4_096  # a huge generated statement is sanitised each time, never kept
_cache: dict[str, str] = {}

#: ``db.system`` of each vendor name Django (``connection.vendor``) and SQLAlchemy
#: (``dialect.name``) report, as OpenTelemetry's semantic conventions spell them.
_SYSTEMS = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mariadb",
    "sqlite": "sqlite",
    "oracle": "oracle",
    "mssql": "mssql",
    "microsoft": "mssql",
}


def sanitize(statement: str) -> str:
    """``statement`` with every literal value replaced by ``?`` (see the module docstring)."""
    cached = _cache.get(statement)
    if cached is not None:
        return cached
    out: list[str] = []
    last = ""  # the last significant token, upper-cased (for the sign of a number)
    pending_minus = False
    for match in _TOKEN.finditer(statement):
        kind = match.lastgroup
        text = match.group()
        if kind in {"space", "comment"}:
            if out and out[-1] != " ":
                out.append(" ")
            continue
        if pending_minus:
            pending_minus = False
            if kind == "number":  # ``= -5``: the sign is part of the literal
                out.append(_LITERAL)
                last = "?"
                continue
            out.append("-")
        if kind in ("string", "dollar", "number"):
            out.append(_LITERAL)
            last = "?"
        elif kind == "other" and text == "-" and last in _SIGN_AFTER:
            pending_minus = True
        else:
            out.append(text)
            last = text.upper()
    if pending_minus:
        out.append("-")
    folded = _IN_LIST.sub(lambda m: f"{m.group(1)} ({_LITERAL})", "".join(out).strip())
    result = folded.replace(_LITERAL, "?")
    if len(_cache) < _CACHE_MAX and len(statement) <= _CACHE_LONGEST:
        _cache[statement] = result
    return result


#: First keywords kept as the metric's ``db_operation_name``; any other becomes ``_OTHER``.
_OPERATIONS = frozenset(
    ("ALTER", "ANALYZE", "BEGIN", "CALL", "COMMIT", "COPY", "CREATE", "DELETE", "DROP", "EXEC",
     "EXECUTE", "EXPLAIN", "GRANT", "INSERT", "LOCK", "MERGE", "PRAGMA", "RELEASE", "REPLACE",
     "REVOKE", "ROLLBACK", "SAVEPOINT", "SELECT", "SET", "SHOW", "TRUNCATE", "UPDATE", "UPSERT",
     "VACUUM", "VALUES", "WITH")
)  # fmt: skip


def operation_name(statement: str) -> str | None:
    """The statement's first keyword in upper case (``SELECT``, ``INSERT``...), or None."""
    for match in _TOKEN.finditer(statement):
        kind = match.lastgroup
        if kind == "word":
            return match.group().upper()
        if kind not in ("space", "comment") and match.group() != "(":
            return None
    return None


_TARGET = re.compile(
    r"""^\s*(?:
        SELECT\b.*?\bFROM\s+(?P<select>[\w."`\[\]]+)
      | INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(?P<insert>[\w."`\[\]]+)
      | UPDATE\s+(?P<update>[\w."`\[\]]+)
      | DELETE\s+FROM\s+(?P<delete>[\w."`\[\]]+)
    )""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)


def _collection(sanitized: str) -> str | None:
    match = _TARGET.match(sanitized)
    if match is None:
        return None
    name = next(g for g in match.groups() if g)
    return name.strip('"`[]') or None


def system_of(vendor: str) -> str:
    """``db.system`` for a driver's vendor name (``postgresql``, ``sqlite``...)."""
    name = vendor.lower()
    return _SYSTEMS.get(name, name or "other_sql")


class QueryState:
    """One database call between :meth:`QueryRecorder.start` and :meth:`QueryRecorder.finish`."""

    __slots__ = ("operation", "span", "start", "system")

    def __init__(self, system: str, operation: str, span: Span | None) -> None:
        self.system = system
        self.operation = operation
        self.span = span
        self.start = time.perf_counter()


class QueryRecorder:
    """Spans and the duration histogram for database calls (one per process is enough)."""

    def __init__(self) -> None:
        self._warned = False
        self._family: Histogram | None = None
        self._children: dict[tuple[str, str], Any] = {}

    def start(
        self, system: str, statement: str, attrs: dict[str, Any] | None = None
    ) -> QueryState | None:
        """Open a client span (a child of the current one) for ``statement``; None if tripod
        is not set up or its bookkeeping failed."""
        try:
            settings = current_settings()
            if settings is None or settings.sdk_disabled:
                return None
            operation = operation_name(statement) or "_OTHER"
            span = None
            tracer = tracing.current_tracer()
            if tracer is not None:
                text = sanitize(statement)
                attributes: dict[str, Any] = {
                    "db.system": system,
                    "db.operation.name": operation,
                    "db.query.text": text,
                }
                collection = _collection(text)
                if collection is not None:
                    attributes["db.collection.name"] = collection
                if attrs:
                    attributes.update(attrs)
                name = f"{operation} {collection}" if collection else operation
                span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            return QueryState(system, operation, span)
        except Exception:
            self._internal_error()
            return None

    def finish(self, state: QueryState | None, exc: BaseException | None = None) -> None:
        """Close the span (status ERROR with ``error.type`` if ``exc``) and observe the
        duration."""
        if state is None:
            return
        try:
            duration = time.perf_counter() - state.start
            exemplar: tuple[str, str] | None = None
            span = state.span
            if span is not None:
                if exc is not None:
                    span.record_exception(exc)
                    span.set_attribute("error.type", type(exc).__qualname__)
                    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                span.end()
                ctx = span.get_span_context()
                if ctx.trace_flags.sampled:
                    exemplar = span_ids(ctx)
            settings = current_settings()
            if settings is None or not settings.metrics_enabled:
                return
            op = state.operation if state.operation in _OPERATIONS else "_OTHER"
            child = self._child(state.system, op)
            if exemplar is not None and settings.exemplars:
                child.observe_trace(duration, *exemplar)
            else:
                child.observe(duration)
        except Exception:
            self._internal_error()

    def _child(self, system: str, operation: str) -> Any:
        spec = catalog.DB_CLIENT_OPERATION_DURATION
        family = self._family
        if family is None or metrics.REGISTRY.get(spec.name) is not family:
            # First use, or the registry was reset (tests): register the catalog's family.
            family = metrics.histogram(spec.name, spec.help, spec.labels, spec.unit, spec.buckets)
            self._family = family
            self._children = {}
        key = (system, operation)
        child = self._children.get(key)
        if child is None:
            child = family.labels(system, operation)
            if len(self._children) < _CACHE_MAX:
                self._children[key] = child
        return child

    def _internal_error(self) -> None:
        metrics.record_dropped("spans")
        if not self._warned:
            self._warned = True
            _log.warning("tripod: database instrumentation failed; continuing", exc_info=True)
