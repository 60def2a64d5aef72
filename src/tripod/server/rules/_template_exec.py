"""Executes a parsed template as Go's text/template/exec.go does, over template values.

Errors read exactly as Prometheus 2.42 reports them after its `Expand` wraps them:
`error executing template NAME: template: NAME:LINE:COL: executing "NAME" at <NODE>: WHY`,
with Go's position (a 0-based byte column, and on line 1 counting the four declarations that
rules/alerting.go prepends to every alert template), so an annotation that failed to expand
carries the same text on tripod as on Prometheus.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from tripod.server.rules._template_fmt import go_quote, print_value
from tripod.server.rules._template_funcs import FUNCS, CallError, Func, run_query, truth
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
    node_string,
)
from tripod.server.rules._template_types import (
    HTML,
    AnyMap,
    QueryResult,
    QuerySample,
    Root,
    StrMap,
    TemplateError,
    Value,
    go_type_name,
)

__all__ = ["execute"]

# rules/alerting.go runs every alert template as these declarations followed by the user's text.
ALERT_PREFIX = (
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"
)
_GO_TYPES = {"string": "string", "sample": "*template.sample", "result": "template.queryResult"}


class _Missing:
    """Go's missingVal: no value was piped into a command."""


_MISSING = _Missing()


class _Exec:
    """One expansion: the variable stack, the output, and the node being executed (Go's state)."""

    def __init__(
        self, text: str, name: str, root: Root, query: Callable[[str], QueryResult]
    ) -> None:
        self.text = text
        self.name = name
        self.query = query
        self.vars: list[list[object]] = [
            ["$", root],
            ["$labels", root.labels],
            ["$externalLabels", root.external_labels],
            ["$externalURL", root.external_url],
            ["$value", root.value],
        ]
        self.out: list[str] = []
        self.node: object = None

    def at(self, node: object) -> None:
        self.node = node

    def error(self, msg: str) -> TemplateError:
        name = self.name
        node = self.node
        if node is None:
            return TemplateError(f"error executing template {name}: template: {name}: {msg}")
        pos = getattr(node, "pos", 0)
        before = self.text[:pos]
        line = before.count("\n") + 1
        if line == 1:
            col = len(ALERT_PREFIX) + len(before.encode())
        else:
            col = len(before[before.rfind("\n") + 1 :].encode())
        return TemplateError(
            f"error executing template {name}: template: {name}:{line}:{col}: "
            f"executing {go_quote(name)} at <{node_string(node)}>: {msg}"
        )

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
                        self.at(node)
                        raise self.error(str(exc)) from None
            else:
                self.wrapper(dot, node)

    def wrapper(self, dot: Value, node: Wrapper) -> None:
        mark = len(self.vars)
        self.at(node)
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
            raise self.error(f"range can't iterate over {print_value(value)}")
        if not items and node.else_body is not None:
            self.walk(dot, node.else_body)
            return
        # The pipeline pushed its declared variables; each iteration re-assigns them.
        decl = node.pipe.decl
        base = len(self.vars) - len(decl)
        for key, elem in items:
            if node.pipe.is_assign:
                for var, val in zip(reversed(decl), (elem, key), strict=False):
                    self.set_var(var, val)
            elif len(decl) == 1:
                self.vars[base][1] = elem
            elif len(decl) == 2:
                self.vars[base][1], self.vars[base + 1][1] = key, elem
            mark = len(self.vars)
            self.walk(elem, node.body)
            del self.vars[mark:]

    def pipeline(self, dot: Value, pipe: Pipe) -> Value:
        self.at(pipe)
        value: Value | _Missing = _MISSING
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        assert not isinstance(value, _Missing)
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var, value)
            else:
                self.vars.append([var, value])
        return value

    def set_var(self, name: str, value: Value) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise self.error(f"undefined variable: {name}")

    def var_value(self, name: str) -> Value:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        raise self.error(f"undefined variable: {name}")

    def command(self, dot: Value, cmd: Cmd, final: Value | _Missing) -> Value:
        first = cmd.args[0]
        if isinstance(first, Ident):
            return self.call(dot, first, cmd, cmd.args[1:], final)
        if not isinstance(first, Field | Var | Chain | Pipe):
            self.at(first)
        if len(cmd.args) > 1 or not isinstance(final, _Missing):
            raise self.error(f"can't give argument to non-function {node_string(first)}")
        return self.arg_value(dot, first)

    def arg_value(self, dot: Value, node: object) -> Value:
        """An operand's value, with number literals typed as Go's idealConstant types them."""
        if isinstance(node, Field):
            self.at(node)
            return self.fields(dot, node.names)
        if isinstance(node, Var):
            self.at(node)
            value = self.var_value(node.name)
            return self.fields(value, node.fields)
        if isinstance(node, Chain):  # Go reports a field error at the pipeline's last node
            if isinstance(node.node, Ident):
                value = self.call(dot, node.node, node.node, (), _MISSING)
            else:
                value = self.pipeline(dot, node.node)
            return self.fields(value, node.fields)
        if isinstance(node, Pipe):
            return self.pipeline(dot, node)
        if isinstance(node, Ident):
            return self.call(dot, node, node, (), _MISSING)
        if isinstance(node, Bool | Str | Num):
            return node.value
        if isinstance(node, Dot):
            return dot
        raise self.error("nil is not a command")

    def fields(self, value: Value, names: Sequence[str]) -> Value:
        for name in names:
            value = self.field(value, name)
        return value

    def field(self, value: Value, name: str) -> Value:
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
        raise self.error(f"can't evaluate field {name} in type {go_type_name(value)}")

    def typed_arg(self, dot: Value, kind: str, node: object) -> Value:
        """Go's evalArg: literals must fit the parameter type; values are type-checked."""
        self.at(node)
        if isinstance(node, Nil):
            if kind in ("any", "sample", "result"):
                return None
            raise self.error(f"cannot assign nil to {_GO_TYPES[kind]}")
        if isinstance(node, Str | Num | Bool) and kind != "any":
            if kind == "string" and isinstance(node, Str):
                return node.value
            if kind == "string":
                raise self.error(f"expected string; found {node_string(node)}")
            msg = f"can't handle {node_string(node)} for arg of type {_GO_TYPES[kind]}"
            raise self.error(msg)
        return self.check_kind(kind, self.arg_value(dot, node))

    def check_kind(self, kind: str, value: Value) -> Value:
        """Go's validateType: a value passed to a typed parameter must have that type."""
        ok = (
            kind == "any"
            or (kind == "string" and isinstance(value, str) and not isinstance(value, HTML))
            or (kind == "sample" and (value is None or isinstance(value, QuerySample)))
            or (kind == "result" and (value is None or isinstance(value, QueryResult)))
        )
        if not ok:
            if value is None:
                raise self.error(f"invalid value; expected {_GO_TYPES[kind]}")
            got = go_type_name(value)
            raise self.error(f"wrong type for value; expected {_GO_TYPES[kind]}; got {got}")
        return value

    def call(
        self,
        dot: Value,
        ident: Ident,
        cmd: object,
        args: Sequence[object],
        final: Value | _Missing,
    ) -> Value:
        """Go's evalFunction and evalCall, including the and/or short-circuit."""
        self.at(ident)
        name = ident.name
        func: Func = FUNCS[name]
        given = len(args) + (0 if isinstance(final, _Missing) else 1)
        want = len(func.params)
        if func.variadic is not None and given < want:
            msg = f"wrong number of args for {name}: want at least {want} got {len(args)}"
            raise self.error(msg)
        if func.variadic is None and given != want:
            raise self.error(f"wrong number of args for {name}: want {want} got {given}")
        if name in ("and", "or"):
            value: Value = None
            for node in args:
                value = self.typed_arg(dot, "any", node)
                if truth(value) == (name == "or"):
                    return value
            return value if isinstance(final, _Missing) else final
        values: list[Value] = []
        for i, node in enumerate(args):
            kind = func.params[i] if i < want else (func.variadic or "any")
            values.append(self.typed_arg(dot, kind, node))
        if not isinstance(final, _Missing):
            kind = func.params[len(values)] if len(values) < want else (func.variadic or "any")
            values.append(self.check_kind(kind, final))
        impl = func.impl
        if name == "query":
            impl = functools.partial(run_query, self.query)
        try:
            return impl(*values)
        except (CallError, TemplateError) as exc:
            self.at(cmd)
            raise self.error(f"error calling {name}: {exc}") from None


def execute(
    text: str, name: str, nodes: Sequence[Node], root: Root, query: Callable[[str], QueryResult]
) -> str:
    """Run parsed `nodes` of template `text` with `.` = `root`; raises TemplateError."""
    state = _Exec(text, name, root, query)
    state.walk(root, nodes)
    return "".join(state.out)
