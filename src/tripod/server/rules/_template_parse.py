"""A parser for the Go text/template subset that Prometheus rule templates use.

It follows Go's text/template/parse (lexer, grammar, parse-time checks for undefined functions
and variables) for: text, actions with `{{-`/`-}}` trim markers, comments, pipelines, variables,
fields, parenthesised pipelines, literals, and `if`/`else if`/`else`/`range`/`with`/`end`.
`define`, `template`, `block`, `break` and `continue` are refused.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from tripod.server.rules._template_lex import Lexer, Tok, unquote
from tripod.server.rules._template_types import TemplateError

__all__ = [
    "Action",
    "Bool",
    "Chain",
    "Cmd",
    "Dot",
    "Field",
    "Ident",
    "Nil",
    "Node",
    "Num",
    "Pipe",
    "Str",
    "Text",
    "Var",
    "Wrapper",
    "node_string",
    "parse",
]


@dataclasses.dataclass(frozen=True)
class Text:
    text: str


@dataclasses.dataclass(frozen=True)
class Field:
    pos: int
    names: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Var:
    pos: int
    name: str
    fields: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Ident:
    pos: int
    name: str


@dataclasses.dataclass(frozen=True)
class Str:
    pos: int
    value: str
    text: str


@dataclasses.dataclass(frozen=True)
class Num:
    pos: int
    value: int | float
    is_float: bool  # usable where Go wants a float64 (every finite number literal is)
    text: str


@dataclasses.dataclass(frozen=True)
class Bool:
    pos: int
    value: bool


@dataclasses.dataclass(frozen=True)
class Nil:
    pos: int


@dataclasses.dataclass(frozen=True)
class Dot:
    pos: int


@dataclasses.dataclass(frozen=True)
class Cmd:
    pos: int
    args: tuple[Arg, ...]


@dataclasses.dataclass(frozen=True)
class Pipe:
    pos: int
    decl: tuple[str, ...]
    is_assign: bool
    cmds: tuple[Cmd, ...]


@dataclasses.dataclass(frozen=True)
class Chain:
    """Fields on a parenthesised pipeline or a function's result: `(query "x" | first).Labels`."""

    pos: int
    node: Pipe | Ident
    fields: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Action:
    pos: int
    pipe: Pipe


@dataclasses.dataclass(frozen=True)
class Wrapper:
    """`if`, `range` or `with`: a pipeline, a body, and an optional else body."""

    kind: str
    pos: int
    pipe: Pipe
    body: tuple[Node, ...]
    else_body: tuple[Node, ...] | None


Arg = Field | Var | Ident | Str | Num | Bool | Nil | Dot | Pipe | Chain
Node = Text | Action | Wrapper

_REFUSED = ("define", "template", "block", "break", "continue")


def _number(tok: Tok, fail: Callable[[str], TemplateError]) -> Num:
    """Go's parse.NumberNode: ints (0x, 0o, 0b, leading-0 octal, underscores) and floats."""
    text = tok.text
    if text.startswith("'"):
        ch = unquote(text, fail)
        if len(ch) != 1:
            raise fail(f"malformed character constant: {text}")
        return Num(tok.pos, ord(ch), True, text)
    body = text.lstrip("+-")
    neg = text.startswith("-")
    if "__" in body or body.endswith("_") or body.startswith("_"):
        raise fail(f"bad number syntax: {text!r}")
    clean = body.replace("_", "")
    try:
        if re.fullmatch(r"0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*", clean):
            value = int(clean, 8) if re.fullmatch(r"0[0-7]+", clean) else int(clean, 0)
            return Num(tok.pos, -value if neg else value, True, text)
        if clean.lower().startswith("0x"):
            number = float.fromhex(clean)
        elif re.fullmatch(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", clean):
            number = float(clean)
        else:
            raise ValueError(clean)
    except ValueError:
        raise fail(f"bad number syntax: {text!r}") from None
    return Num(tok.pos, -number if neg else number, True, text)


class _Parser:
    def __init__(self, src: str, name: str, funcs: Callable[[str], str | None]) -> None:
        self.src = src
        self.name = name
        self.check_func = funcs
        self.vars = ["$", "$labels", "$externalLabels", "$externalURL", "$value"]
        self.items = [Text(x) if isinstance(x, str) else x for x in Lexer(src, self.error).items()]
        self.idx = 0
        self.toks: list[Tok] = []
        self.tpos = 0
        self.end_pos = 0

    def error(self, msg: str, pos: int) -> TemplateError:
        line = self.src.count("\n", 0, pos) + 1
        col = pos - (self.src.rfind("\n", 0, pos) + 1) + 1
        return TemplateError(f"template {self.name}:{line}:{col}: {msg}")

    # token cursor inside one action
    def peek(self) -> Tok:
        if self.tpos < len(self.toks):
            return self.toks[self.tpos]
        return Tok("end", "}}", self.end_pos)

    def next(self) -> Tok:
        tok = self.peek()
        self.tpos += 1
        return tok

    def peek_non_space(self) -> Tok:
        while self.peek().kind == "space":
            self.tpos += 1
        return self.peek()

    def next_non_space(self) -> Tok:
        self.peek_non_space()
        return self.next()

    def list(self, *, stop: tuple[str, ...]) -> tuple[list[Node], str]:
        """Parse nodes until an action starting with one of `stop` ("end", "else")."""
        nodes: list[Node] = []
        while self.idx < len(self.items):
            item = self.items[self.idx]
            self.idx += 1
            if isinstance(item, Text):
                nodes.append(item)
                continue
            self.toks, self.tpos = item, 0
            self.end_pos = item[-1].pos + len(item[-1].text) if item else 0
            first = self.peek_non_space()
            if first.kind == "ident" and first.text in ("end", "else"):
                if first.text not in stop:
                    raise self.error(f"unexpected {{{{{first.text}}}}}", first.pos)
                self.next()
                return nodes, first.text
            if first.kind == "ident" and first.text in ("if", "range", "with"):
                self.next()
                nodes.append(self.control(first))
            elif first.kind == "ident" and first.text in _REFUSED:
                msg = f"{{{{{first.text}}}}} is not supported in rule templates"
                raise self.error(msg, first.pos)
            else:
                nodes.append(Action(first.pos, self.pipeline("command")))
        if stop:
            raise self.error("unexpected EOF", len(self.src))
        return nodes, ""

    def control(self, tok: Tok) -> Wrapper:
        kind = tok.text
        saved = len(self.vars)
        pipe = self.pipeline(kind)
        body, stopped = self.list(stop=("end", "else"))
        else_body: list[Node] | None = None
        if stopped == "else":
            nxt = self.peek_non_space()
            if kind == "if" and nxt.kind == "ident" and nxt.text == "if":
                self.next()
                else_body = [self.control(nxt)]  # the nested `if` consumes the shared {{end}}
            else:
                if nxt.kind != "end":
                    raise self.error(f"unexpected {nxt.text!r} in else", nxt.pos)
                else_body, _ = self.list(stop=("end",))
        if self.peek_non_space().kind != "end":
            raise self.error(f"unexpected {self.peek().text!r} in end", self.peek().pos)
        del self.vars[saved:]
        return Wrapper(
            kind, tok.pos, pipe, tuple(body), None if else_body is None else tuple(else_body)
        )

    def pipeline(self, context: str) -> Pipe:
        """Go's parse.pipeline: optional declarations, then commands separated by '|'."""
        pos = self.peek_non_space().pos
        decl: list[str] = []
        is_assign = False
        while self.peek_non_space().kind == "var":
            save = self.tpos
            var = self.next()
            nxt = self.peek_non_space()
            if nxt.kind in (":=", "="):
                self.next()
                is_assign = nxt.kind == "="
                decl.append(var.text)
                self.vars.append(var.text)
                break
            if nxt.kind == ",":
                self.next()
                decl.append(var.text)
                self.vars.append(var.text)
                if context == "range" and len(decl) < 2:
                    if self.peek_non_space().kind in ("var", "end", ")"):
                        continue
                    raise self.error("range can only initialize variables", nxt.pos)
                raise self.error(f"too many declarations in {context}", nxt.pos)
            self.tpos = save
            break
        cmds: list[Cmd] = []
        closing = ")" if context == "parenthesized pipeline" else "end"
        while True:
            tok = self.peek_non_space()
            if tok.kind == closing:
                if closing == ")":
                    self.next()
                break
            if tok.kind in ("end", ")"):
                raise self.error(f"unexpected {tok.text!r} in {context}", tok.pos)
            if tok.kind in ("|", ":=", "=", ","):
                raise self.error(f"unexpected {tok.text!r} in {context}", tok.pos)
            cmds.append(self.command())
        if not cmds:
            raise self.error(f"missing value for {context}", pos)
        for i, cmd in enumerate(cmds[1:]):
            if isinstance(cmd.args[0], Bool | Dot | Nil | Num | Str):
                raise self.error(f"non executable command in pipeline stage {i + 2}", cmd.pos)
        return Pipe(pos, tuple(decl), is_assign, tuple(cmds))

    def command(self) -> Cmd:
        pos = self.peek_non_space().pos
        args: list[Arg] = []
        while True:
            self.peek_non_space()
            args.append(self.operand())
            tok = self.peek()
            if tok.kind == "space":
                self.next()
                if self.peek().kind not in ("end", ")", "|"):
                    continue
                tok = self.peek()
            if tok.kind == "|":
                self.next()
                break
            if tok.kind in ("end", ")"):
                break
            raise self.error(f"unexpected {tok.text!r} in operand", tok.pos)
        return Cmd(pos, tuple(args))

    def operand(self) -> Arg:
        node = self.term()
        first_field = self.peek().pos
        fields: list[str] = []
        while self.peek().kind == "field":
            fields.append(self.next().text[1:])
        if not fields:
            return node
        # Go gives the combined node the position of the first appended field.
        if isinstance(node, Field):
            return Field(first_field, node.names + tuple(fields))
        if isinstance(node, Var):
            return Var(first_field, node.name, node.fields + tuple(fields))
        if isinstance(node, Pipe | Ident):
            return Chain(first_field, node, tuple(fields))
        raise self.error(f'unexpected . after term "{node_string(node)}"', node.pos)

    def term(self) -> Arg:
        tok = self.next_non_space()
        kind = tok.kind
        if kind == "ident":
            problem = self.check_func(tok.text)
            if problem:
                raise self.error(problem, tok.pos)
            return Ident(tok.pos, tok.text)
        if kind == "dot":
            return Dot(tok.pos)
        if kind == "nil":
            return Nil(tok.pos)
        if kind == "var":
            if tok.text not in self.vars:
                raise self.error(f'undefined variable "{tok.text}"', tok.pos)
            return Var(tok.pos, tok.text, ())
        if kind == "field":
            return Field(tok.pos, (tok.text[1:],))
        if kind == "bool":
            return Bool(tok.pos, tok.text == "true")
        if kind in ("num", "char"):
            return _number(tok, lambda m: self.error(m, tok.pos))
        if kind == "(":
            return self.pipeline("parenthesized pipeline")
        if kind == "str":
            return Str(tok.pos, unquote(tok.text, lambda m: self.error(m, tok.pos)), tok.text)
        if kind == "raw":
            return Str(tok.pos, tok.text[1:-1].replace("\r", ""), tok.text)
        raise self.error(f"unexpected {tok.text!r} in operand", tok.pos)


def parse(src: str, name: str, check_func: Callable[[str], str | None]) -> tuple[Node, ...]:
    """Parse `src`; `check_func(name)` returns why a function name is refused, or None."""
    parser = _Parser(src, name, check_func)
    nodes, _ = parser.list(stop=())
    return tuple(nodes)


def node_string(node: object) -> str:
    """Go's parse.Node String(): how an execution error names the node it failed at."""
    if isinstance(node, Cmd):
        return " ".join(
            f"({node_string(a)})" if isinstance(a, Pipe) else node_string(a) for a in node.args
        )
    if isinstance(node, Pipe):
        decl = ", ".join(node.decl) + (" := " if node.decl else "")
        return decl + " | ".join(node_string(c) for c in node.cmds)
    if isinstance(node, Action):
        return "{{" + node_string(node.pipe) + "}}"
    if isinstance(node, Chain):
        inner = node_string(node.node)
        inner = f"({inner})" if isinstance(node.node, Pipe) else inner
        return inner + "".join("." + f for f in node.fields)
    if isinstance(node, Field):
        return "".join("." + f for f in node.names)
    if isinstance(node, Var):
        return ".".join((node.name, *node.fields))
    if isinstance(node, Str | Num):
        return node.text
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    if isinstance(node, Ident):
        return node.name
    if isinstance(node, Nil):
        return "nil"
    if isinstance(node, Dot):
        return "."
    return ""
