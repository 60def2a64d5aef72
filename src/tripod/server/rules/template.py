"""Prometheus alert and recording rule templates: the Go text/template subset rules use.

`compile_template` parses once, at rule load, and refuses bad syntax and any function outside
the supported set with a TemplateError naming the template, line:col and the problem.
`Template.render` expands with Prometheus 2.42's semantics: the data is the struct
{Labels, ExternalLabels, ExternalURL, Value}, `$labels`, `$externalLabels`, `$externalURL` and
`$value` are predefined (rules/alerting.go prepends their declarations), a missing label reads
as "" (missingkey=zero), and numbers print as Go's fmt prints them.  Nothing the user writes is
ever evaluated as Python.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence

from tripod.server.rules._template_fmt import print_value
from tripod.server.rules._template_funcs import (
    FUNCS,
    UNSUPPORTED_PROMETHEUS,
    CallError,
    Func,
    run_query,
    truth,
)
from tripod.server.rules._template_parse import (
    Action,
    Bool,
    Chain,
    Cmd,
    Dot,
    Field,
    Ident,
    Nil,
    Node,
    Num,
    Pipe,
    Str,
    Text,
    Var,
    Wrapper,
    parse,
)
from tripod.server.rules._template_types import (
    AnyMap,
    QueryResult,
    QuerySample,
    Root,
    StrMap,
    TemplateError,
    Value,
    go_type_name,
)

__all__ = ["QuerySample", "Template", "TemplateData", "TemplateError", "compile_template"]

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
    # a ValueError it raises becomes the expansion error "error calling query: ...".
    query: Callable[[str], Sequence[QuerySample]] | None = None


def _check_function(name: str) -> str | None:
    if name in FUNCS:
        return None
    supported = ", ".join(SUPPORTED_FUNCTIONS)
    if name in UNSUPPORTED_PROMETHEUS:
        return f'function "{name}" is not supported by tripod\'s templates (supported: {supported})'
    return f'function "{name}" not defined (supported: {supported})'


def compile_template(text: str, *, name: str) -> Template:
    """Parse a label or annotation template; raises TemplateError for anything refused."""
    return Template(text, name, parse(text, name, _check_function))


class _Missing:
    """Go's missingVal: no value was piped into a command."""


_MISSING = _Missing()


class _Exec:
    """One expansion: the variable stack and the output (Go's exec.state)."""

    def __init__(self, template: Template, root: Root, query: Callable[[str], QueryResult]) -> None:
        self.template = template
        self.query = query
        self.vars: list[list[object]] = [
            ["$", root],
            ["$labels", root.labels],
            ["$externalLabels", root.external_labels],
            ["$externalURL", root.external_url],
            ["$value", root.value],
        ]
        self.out: list[str] = []

    def error(self, pos: int, msg: str) -> TemplateError:
        src = self.template.text
        line = src.count("\n", 0, pos) + 1
        col = pos - (src.rfind("\n", 0, pos) + 1) + 1
        return TemplateError(f"template {self.template.name}:{line}:{col}: {msg}")

    def walk(self, dot: Value, nodes: Sequence[Node]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                self.out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    try:
                        self.out.append(print_value(value))
                    except TemplateError as exc:
                        raise self.error(node.pos, str(exc)) from None
            else:
                self.wrapper(dot, node)

    def wrapper(self, dot: Value, node: Wrapper) -> None:
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe)
        try:
            if node.kind == "range":
                self.range(dot, node, value)
            elif truth(value):
                self.walk(value if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def range(self, dot: Value, node: Wrapper, value: Value) -> None:
        items: list[tuple[Value, Value]]
        if isinstance(value, StrMap | AnyMap):
            items = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, QueryResult):
            items = list(enumerate(value))
        elif value is None:
            items = []
        else:
            raise self.error(node.pos, f"range can't iterate over {print_value(value)}")
        if not items and node.else_body is not None:
            self.walk(dot, node.else_body)
            return
        # The pipeline pushed its declared variables; each iteration re-assigns them.
        decl = node.pipe.decl
        base = len(self.vars) - len(decl)
        for key, elem in items:
            if node.pipe.is_assign:
                for var, val in zip(reversed(decl), (elem, key), strict=False):
                    self.set_var(node.pos, var, val)
            elif len(decl) == 1:
                self.vars[base][1] = elem
            elif len(decl) == 2:
                self.vars[base][1], self.vars[base + 1][1] = key, elem
            mark = len(self.vars)
            self.walk(elem, node.body)
            del self.vars[mark:]

    def pipeline(self, dot: Value, pipe: Pipe) -> Value:
        value: Value | _Missing = _MISSING
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        assert not isinstance(value, _Missing)
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(pipe.pos, var, value)
            else:
                self.vars.append([var, value])
        return value

    def set_var(self, pos: int, name: str, value: Value) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise self.error(pos, f"undefined variable: {name}")

    def var_value(self, pos: int, name: str) -> Value:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        raise self.error(pos, f"undefined variable: {name}")

    def not_a_function(self, cmd: Cmd, final: Value | _Missing) -> None:
        if len(cmd.args) > 1 or not isinstance(final, _Missing):
            raise self.error(cmd.pos, "can't give argument to non-function")

    def command(self, dot: Value, cmd: Cmd, final: Value | _Missing) -> Value:
        first = cmd.args[0]
        if isinstance(first, Ident):
            return self.call(dot, first, cmd.args[1:], final)
        self.not_a_function(cmd, final)
        return self.arg_value(dot, first)

    def arg_value(self, dot: Value, node: object) -> Value:
        """An operand's value, with number literals typed as Go's idealConstant types them."""
        if isinstance(node, Field):
            return self.fields(node.pos, dot, node.names)
        if isinstance(node, Var):
            return self.fields(node.pos, self.var_value(node.pos, node.name), node.fields)
        if isinstance(node, Chain):
            return self.fields(node.pos, self.pipeline(dot, node.node), node.fields)
        if isinstance(node, Pipe):
            return self.pipeline(dot, node)
        if isinstance(node, Ident):
            return self.call(dot, node, (), _MISSING)
        if isinstance(node, Bool | Str):
            return node.value
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Dot):
            return dot
        assert isinstance(node, Nil)
        raise self.error(node.pos, "nil is not a command")

    def fields(self, pos: int, value: Value, names: Sequence[str]) -> Value:
        for name in names:
            value = self.field(pos, value, name)
        return value

    def field(self, pos: int, value: Value, name: str) -> Value:
        if isinstance(value, StrMap):
            return value.get(name, "")
        if isinstance(value, AnyMap):
            return value.get(name)
        if value is None:
            return None
        if isinstance(value, Root):
            got = {
                "Labels": value.labels,
                "ExternalLabels": value.external_labels,
                "ExternalURL": value.external_url,
                "Value": value.value,
            }
            if name in got:
                return got[name]
        if isinstance(value, QuerySample):
            if name == "Labels":
                return StrMap(value.labels)
            if name == "Value":
                return value.value
        msg = f"can't evaluate field {name} in type {go_type_name(value)}"
        raise self.error(pos, msg)

    def typed_arg(self, dot: Value, kind: str, node: object, name: str) -> Value:
        """Go's evalArg: literals must fit the parameter type; values are type-checked."""
        literal = isinstance(node, Str | Num | Bool | Nil)
        if isinstance(node, Nil):
            if kind in ("any", "sample", "result"):
                return None
            raise self.error(node.pos, f"cannot assign nil to {kind}")
        if literal and kind != "any":
            assert isinstance(node, Str | Num | Bool)
            if kind == "string" and isinstance(node, Str):
                return node.value
            expected = {"string": "string", "sample": "*template.sample"}.get(kind, kind)
            shown = node.text if isinstance(node, Str | Num) else str(node.value).lower()
            raise self.error(node.pos, f"expected {expected}; found {shown}")
        return self.check_kind(getattr(node, "pos", 0), kind, self.arg_value(dot, node))

    def check_kind(self, pos: int, kind: str, value: Value) -> Value:
        """Go's validateType: a value passed to a typed parameter must have that type."""
        ok = (
            kind == "any"
            or (kind == "string" and isinstance(value, str))
            or (kind == "sample" and (value is None or isinstance(value, QuerySample)))
            or (kind == "result" and (value is None or isinstance(value, QueryResult)))
        )
        if not ok:
            if value is None:
                raise self.error(pos, f"invalid value; expected {kind}")
            want = {"sample": "*template.sample", "result": "template.queryResult"}.get(kind, kind)
            msg = f"wrong type for value; expected {want}; got {go_type_name(value)}"
            raise self.error(pos, msg)
        return value

    def call(
        self, dot: Value, ident: Ident, args: Sequence[object], final: Value | _Missing
    ) -> Value:
        name = ident.name
        func: Func = FUNCS[name]
        given = len(args) + (0 if isinstance(final, _Missing) else 1)
        want = len(func.params)
        if (func.variadic is None and given != want) or given < want:
            least = "at least " if func.variadic else ""
            msg = f"wrong number of args for {name}: want {least}{want} got {given}"
            raise self.error(ident.pos, msg)
        if name in ("and", "or"):
            value: Value = None
            for node in args:
                value = self.arg_value(dot, node)
                if truth(value) == (name == "or"):
                    return value
            return value if isinstance(final, _Missing) else final
        values: list[Value] = []
        for i, node in enumerate(args):
            kind = func.params[i] if i < want else (func.variadic or "any")
            values.append(self.typed_arg(dot, kind, node, name))
        if not isinstance(final, _Missing):
            kind = func.params[len(values)] if len(values) < want else (func.variadic or "any")
            values.append(self.check_kind(ident.pos, kind, final))
        impl = func.impl
        if name == "query":
            impl = functools.partial(run_query, self.query)
        try:
            return impl(*values)
        except CallError as exc:
            raise self.error(ident.pos, f"error calling {name}: {exc}") from None
        except TemplateError as exc:
            raise self.error(ident.pos, f"error calling {name}: {exc}") from None


class Template:
    """A compiled label or annotation template."""

    def __init__(self, text: str, name: str, nodes: tuple[Node, ...]) -> None:
        self.text = text
        self.name = name
        self._nodes = nodes

    def is_static(self) -> bool:
        """True when the text has no actions: render returns it unchanged."""
        return all(isinstance(node, Text) for node in self._nodes) and "{{" not in self.text

    def render(self, data: TemplateData) -> str:
        """Expand; raises TemplateError where Prometheus reports an expansion error."""
        if self.is_static():
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

        state = _Exec(self, root, query)
        state.walk(root, self._nodes)
        return "".join(state.out)
