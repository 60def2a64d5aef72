"""Typed PromQL errors carrying Prometheus's ``errorType`` and HTTP status.

The API layer turns any of these into ``{"status": "error", "errorType", "error"}`` exactly as
Prometheus shapes it; the CLI prints the message on one line and exits 2.
"""

from __future__ import annotations

__all__ = [
    "BadDataError",
    "ExecutionError",
    "ParseError",
    "PromQLError",
    "QueryTimeoutError",
    "TooManySamplesError",
]


class PromQLError(Exception):
    """Base class: ``error_type`` and ``status`` are what the HTTP API answers with."""

    error_type = "execution"
    status = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadDataError(PromQLError):
    """The request or the query text is invalid (parse errors, bad parameters)."""

    error_type = "bad_data"
    status = 400


class ParseError(BadDataError):
    """The query text is not valid PromQL; the message starts with ``line:col``."""


class ExecutionError(PromQLError):
    """The query is valid but cannot be evaluated on this data (e.g. many-to-many matching)."""

    error_type = "execution"
    status = 422


class QueryTimeoutError(PromQLError):
    """Evaluation ran past the query's deadline."""

    error_type = "timeout"
    status = 503

    def __init__(self, message: str = "query timed out in expression evaluation") -> None:
        super().__init__(message)


class TooManySamplesError(ExecutionError):
    """Evaluation would hold more samples in memory than the configured limit."""

    def __init__(self) -> None:
        super().__init__(
            "query processing would load too many samples into memory in query execution"
        )
