"""The PromQL engine (Prometheus 2.42 semantics) and the Prometheus HTTP API of `tripod serve`.

``Engine(store).instant(query, time_ms)`` / ``.range(query, start_ms, end_ms, step_ms)`` evaluate
over any :class:`~tripod.server.store.model.SampleStore`; ``api.routes(ctx)`` serves them.
"""

from tripod.server.promql.engine import Engine, QueryResult
from tripod.server.promql.errors import (
    BadDataError,
    ExecutionError,
    ParseError,
    PromQLError,
    QueryTimeoutError,
    TooManySamplesError,
)
from tripod.server.promql.parse import parse_expr

__all__ = [
    "BadDataError",
    "Engine",
    "ExecutionError",
    "ParseError",
    "PromQLError",
    "QueryResult",
    "QueryTimeoutError",
    "TooManySamplesError",
    "parse_expr",
]
