r"""Prometheus alert and recording rule templates: the Go text/template subset rules use.

`compile_template` parses once, at rule load, and refuses bad syntax and any function outside
the supported set with a TemplateError naming the template, line:col and the problem.
`Template.render` expands with Prometheus 2.42's semantics: the data is the struct
{Labels, ExternalLabels, ExternalURL, Value}, `$labels`, `$externalLabels`, `$externalURL` and
`$value` are predefined (rules/alerting.go prepends their declarations), a missing label reads
as "" (missingkey=zero), and numbers print as Go's fmt prints them.  An expansion error's message
is Prometheus's own text (see _template_exec), so "<error expanding template: {error}>" reads
the same on both.  Nothing the user writes is ever evaluated as Python.

Refused, at load: Prometheus's toTime, parseDuration, stripDomain, pathPrefix, externalURL,
graphLink, tableLink and tmpl; Go's html, js, urlquery, slice, call and println; `define`,
`template`, `block`, `break`, `continue`; complex literals.  Refused, at render (where Go would
print something tripod cannot reproduce): printing a query result, or a sample inside another
value (Go prints pointer addresses); printf's `#` flag, `*` widths, `%[n]` indexes, %x/%X/%b of
floats and %+v of structs; regexps using RE2 syntax Python's re spells differently (\Q..\E,
\pL, [[:alpha:]], (?U)).  Everything else is checked against promtool 2.42 in
tests/server/rules/test_template_oracle.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

from tripod.server.rules._template_exec import execute
from tripod.server.rules._template_funcs import FUNCS, UNSUPPORTED_PROMETHEUS, CallError
from tripod.server.rules._template_parse import Node, parse
from tripod.server.rules._template_types import (
    QueryResult,
    QuerySample,
    Root,
    StrMap,
    TemplateError,
)

__all__ = [
    "SUPPORTED_FUNCTIONS",
    "QuerySample",
    "Template",
    "TemplateData",
    "TemplateError",
    "compile_template",
]

#: The template functions tripod implements (Go's builtins and Prometheus's, minus the refused).
SUPPORTED_FUNCTIONS = tuple(sorted(FUNCS))

_EMPTY: Mapping[str, str] = {}


@dataclasses.dataclass(frozen=True)
class TemplateData:
    """What a rule template sees: the alert's labels and value, and the server's context."""

    labels: Mapping[str, str]
    value: float
    external_labels: Mapping[str, str] = dataclasses.field(default_factory=lambda: _EMPTY)
    external_url: str = ""
    # Runs an instant PromQL query at the evaluation time (the template function `query`);
    # an exception it raises becomes the expansion error "... error calling query: <message>".
    query: Callable[[str], Sequence[QuerySample]] | None = None


def _check_function(name: str) -> str | None:
    if name in FUNCS:
        return None
    supported = ", ".join(SUPPORTED_FUNCTIONS)
    if name in UNSUPPORTED_PROMETHEUS:
        return f'function "{name}" is not supported by tripod\'s templates (supported: {supported})'
    return f'function "{name}" not defined (supported: {supported})'


def compile_template(text: str, *, name: str) -> Template:
    """Parse a label or annotation template; raises TemplateError for anything refused, with the
    message "template NAME:LINE:COL: what" (LINE and COL 1-based, in `text`)."""
    return Template(text, name, parse(text, name, _check_function))


class Template:
    """A compiled label or annotation template."""

    def __init__(self, text: str, name: str, nodes: tuple[Node, ...]) -> None:
        self.text = text
        self.name = name
        self._nodes = nodes
        self._static = "{{" not in text

    def is_static(self) -> bool:
        """True when the text has no actions (nor comments): render returns it unchanged."""
        return self._static

    def render(self, data: TemplateData) -> str:
        """Expand; raises TemplateError where Prometheus reports an expansion error, its message
        the text Prometheus puts after "<error expanding template: " (Go's position included)."""
        if self._static:
            return self.text
        root = Root(
            StrMap(data.labels), StrMap(data.external_labels), data.external_url, float(data.value)
        )
        user_query = data.query

        def query(q: str) -> QueryResult:
            if user_query is None:
                msg = "query is not available when rendering this template"
                raise CallError(msg)
            return QueryResult(QuerySample(StrMap(s.labels), float(s.value)) for s in user_query(q))

        return execute(self.text, self.name, self._nodes, root, query)
