"""Values a template works on, named after the Go types Prometheus hands to text/template.

The lowest template module: the parser, the formatter and the function table all import
from here, never from each other's faces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

__all__ = [
    "HTML",
    "AnyMap",
    "CallError",
    "QueryResult",
    "QuerySample",
    "Root",
    "StrMap",
    "TemplateError",
    "Value",
    "go_kind",
    "go_type_name",
]


class CallError(Exception):
    """A template function's error result (Go's `(T, error)` return): "error calling NAME: ..."."""


class TemplateError(ValueError):
    """A template that cannot be parsed or expanded; the message names template and position."""


@dataclasses.dataclass(frozen=True)
class QuerySample:
    """One element of a query result, as Prometheus's template `query` returns it."""

    labels: Mapping[str, str]
    value: float


class HTML(str):
    """html/template.HTML, what `safeHtml` returns: prints as a string, but is not one to Go."""

    __slots__ = ()


class StrMap(dict[str, str]):
    """Go's map[string]string: a missing key reads as "" (Prometheus uses missingkey=zero)."""


class AnyMap(dict[str, object]):
    """Go's map[string]interface{} (from `args`): a missing key reads as nil."""


class QueryResult(list[QuerySample]):
    """Go's template.queryResult: the list that `query` returns."""


@dataclasses.dataclass(frozen=True)
class Root:
    """The struct Prometheus passes as `.`: Labels, ExternalLabels, ExternalURL, Value."""

    labels: StrMap
    external_labels: StrMap
    external_url: str
    value: float


# A template value: str, float, int, bool, None (Go's nil / invalid), or one of the classes above.
Value = object


def go_kind(value: Value) -> str:
    """The reflect.Kind family of a value: what Go's comparisons go by."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, StrMap | AnyMap):
        return "map"
    if isinstance(value, QuerySample):
        return "ptr"
    if isinstance(value, QueryResult):
        return "slice"
    if isinstance(value, Root):
        return "struct"
    return "invalid"


def go_type_name(value: Value) -> str:
    """The Go type name of a value, as Go's fmt and text/template print it in errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, HTML):
        return "template.HTML"
    if isinstance(value, str):
        return "string"
    if isinstance(value, StrMap):
        return "map[string]string"
    if isinstance(value, AnyMap):
        return "map[string]interface {}"
    if isinstance(value, QuerySample):
        return "*template.sample"
    if isinstance(value, QueryResult):
        return "template.queryResult"
    if isinstance(value, Root):
        return (
            "struct { Labels map[string]string; ExternalLabels map[string]string; "
            "ExternalURL string; Value float64 }"
        )
    return "<nil>"
