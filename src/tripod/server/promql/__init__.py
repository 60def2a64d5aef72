"""The PromQL engine (Prometheus 2.42 semantics) and the Prometheus HTTP API of `tripod serve`.

``Engine(store).instant(query, time_ms)`` / ``.range(query, start_ms, end_ms, step_ms)`` evaluate
over any :class:`~tripod.server.store.model.SampleReader` and return a :class:`QueryResult`;
``parse_expr`` parses (and checks) a query without running it; every failure is a
:class:`PromQLError`. The HTTP routes (``api.routes(ctx)``) and the ``tripod query`` command
(``cli``) are loaded by the app and the CLI from their own modules.

Inside: ``engine.py`` walks the expression (all recursion is there) and hands evaluated values to
the operators, a leaf library: ``functions.py`` (the ``FUNCTIONS`` table), ``range_functions.py``
and ``window_scan.py``, ``aggregations.py``, ``binops.py``, ``histograms.py``, with shared math
in ``quantile.py`` and the per-call helper structs in ``evalhelper.py``.
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
