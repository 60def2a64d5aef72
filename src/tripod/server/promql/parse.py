"""Parse PromQL with ``promql_parser``; every failure becomes a positioned :class:`ParseError`.

``promql_parser`` follows Prometheus 2.45 syntax and later additions; we serve Prometheus 2.42
semantics, so functions and syntax that 2.42 does not know are rejected here, as 2.42 would.
Its Rust panics derive from ``BaseException``; they are caught and reported as parse errors.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import re
import threading
from typing import Any

import promql_parser as pp

from tripod.server.promql.errors import ParseError
from tripod.server.promql.regex import go_regex

__all__ = ["FUNCTIONS_242", "parse_expr", "unwrap_parens", "walk_nodes"]

#: Every function Prometheus 2.42 knows (promql/parser/functions.go at v2.42.0).
FUNCTIONS_242 = frozenset(
    [
        "abs",
        "absent",
        "absent_over_time",
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atanh",
        "avg_over_time",
        "ceil",
        "changes",
        "clamp",
        "clamp_max",
        "clamp_min",
        "cos",
        "cosh",
        "count_over_time",
        "days_in_month",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "deg",
        "delta",
        "deriv",
        "exp",
        "floor",
        "histogram_count",
        "histogram_fraction",
        "histogram_quantile",
        "histogram_sum",
        "holt_winters",
        "hour",
        "idelta",
        "increase",
        "irate",
        "label_join",
        "label_replace",
        "last_over_time",
        "ln",
        "log10",
        "log2",
        "max_over_time",
        "min_over_time",
        "minute",
        "month",
        "pi",
        "predict_linear",
        "present_over_time",
        "quantile_over_time",
        "rad",
        "rate",
        "resets",
        "round",
        "scalar",
        "sgn",
        "sin",
        "sinh",
        "sort",
        "sort_desc",
        "sqrt",
        "stddev_over_time",
        "stdvar_over_time",
        "sum_over_time",
        "tan",
        "tanh",
        "time",
        "timestamp",
        "vector",
        "year",
    ]
)
_AGGREGATIONS_242 = frozenset(
    [
        "sum",
        "avg",
        "count",
        "min",
        "max",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "count_values",
        "quantile",
    ]
)

_register_lock = threading.Lock()
_registered = False


def _register_holt_winters() -> None:
    """promql_parser calls it double_exponential_smoothing (Prometheus 3); 2.42: holt_winters."""
    global _registered
    with _register_lock:
        if _registered:
            return
        with contextlib.suppress(ValueError):  # already known to this build of the parser
            pp.register_extra_functions(
                [
                    pp.Function(
                        "holt_winters",
                        [pp.ValueType.Matrix, pp.ValueType.Scalar, pp.ValueType.Scalar],
                        pp.ValueType.Vector,
                    )
                ]
            )
        _registered = True


def _position(query: str, offset: int) -> str:
    """Prometheus prints positions as ``line:column`` (1-based)."""
    offset = max(0, min(offset, len(query)))
    line = query.count("\n", 0, offset) + 1
    col = offset - (query.rfind("\n", 0, offset) + 1) + 1
    return f"{line}:{col}"


def _unclosed_paren(query: str) -> int:
    stack: list[int] = []
    quote = ""
    i = 0
    while i < len(query):
        ch = query[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            stack.pop()
        i += 1
    return stack[-1] if stack else len(query)


def _locate(query: str, message: str) -> tuple[int, str]:
    """Best-effort offset of the problem and a hint on how to fix it."""
    hint = ""
    offset = len(query)
    name_match = re.search(r"'([^']*)'", message)
    name = name_match.group(1) if name_match else ""
    if "unclosed left parenthesis" in message:
        offset = _unclosed_paren(query)
        hint = "add the missing ')'"
    elif message.startswith("unknown function with name"):
        found = re.search(rf"\b{re.escape(name)}\s*\(", query) if name else None
        offset = found.start() if found else 0
        close = difflib.get_close_matches(name, sorted(FUNCTIONS_242 | _AGGREGATIONS_242), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "see the list of PromQL functions"
    elif "in call to function" in message or "argument(s) in call to" in message:
        found = re.search(rf"\b{re.escape(name)}\s*\(", query) if name else None
        offset = found.start() if found else 0
    elif message.startswith("illegal regex"):
        bad = message.removeprefix("illegal regex for ").strip()
        where = query.find(bad) if bad else -1
        offset = max(where, 0)
        hint = "regexes use RE2 syntax and are fully anchored"
    elif "end of input" in message:
        offset = len(query)
    elif "no expression found" in message:
        offset = 0
        hint = "the query is empty"
    elif "binary expression must contain only scalar and instant vector" in message:
        hint = "wrap range vectors in a function such as rate() or sum_over_time()"
    elif "vector selector must contain at least one non-empty matcher" in message:
        offset = max(query.find("{"), 0)
        hint = 'add a metric name or a matcher such as job="api"'
    return offset, hint


_TYPE_WORDS = {"matrix": "range vector", "vector": "instant vector"}


def _prometheus_wording(message: str) -> str:
    """Word promql_parser's messages as Prometheus does (type names, quotes)."""
    found = re.match(r"expected type (\w+) in call to function '([^']*)', got (\w+)$", message)
    if found:
        want, name, got = found.groups()
        return (
            f"expected type {_TYPE_WORDS.get(want, want)} in call to function "
            f'"{name}", got {_TYPE_WORDS.get(got, got)}'
        )
    found = re.match(r"expected type (\w+) in aggregation expression, got (\w+)$", message)
    if found:
        want, got = found.groups()
        return (
            f"expected type {_TYPE_WORDS.get(want, want)} in aggregation expression, "
            f"got {_TYPE_WORDS.get(got, got)}"
        )
    found = re.match(r"(expected \d+ argument\(s\) in call to )'([^']*)'(, got \d+)$", message)
    if found:
        return f'{found.group(1)}"{found.group(2)}"{found.group(3)}'
    found = re.match(r"unknown function with name '([^']*)'$", message)
    if found:
        return f'unknown function with name "{found.group(1)}"'
    return message


_TOKEN = re.compile(
    r"""\s+|#[^\n]*|"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`[^`]*`?"""
    r"|[A-Za-z_:][\w:]*|\d[\w.]*|\.\d\w*|==|!=|>=|<=|=~|!~|."
)
# Endings that turn a viable beginning of a query into a complete one.
_COMPLETIONS = (
    "", " 1", ")", " 1)", "))", " 1))", " x", "x)", " x)", "1)", "(x)", " (x)", ") (x)",
    " (a) (x)", "a) (x)", ") 1", ")) 1", "x[5m])", " x[5m])", "[5m])", "5m])", "m])", "])",
    "]))", "m]))", "]", "m]", "}", '"}', '="a"}', '"a"}', '")', '"))', ":1m])", "(x[5m]))",
)  # fmt: skip


_SEMANTIC = (
    "expected type",
    "argument(s) in call",
    "wrong number of arguments",
    "no arguments for aggregate",
    "binary expression must contain",
    "ranges only allowed",
    "set operator",
    "comparisons between scalars",
    "unary expression only allowed",
    "vector selector must contain",
    "subquery is only allowed",
    "unknown function",
)


def _parses(text: str) -> bool:
    """True if ``text`` is valid PromQL syntax (type errors do not count: they mean the
    grammar accepted it)."""
    try:
        pp.parse(text)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        return any(word in str(exc) for word in _SEMANTIC)
    return True


def _closed(text: str) -> str:
    """``text`` with its unclosed parentheses closed."""
    depth = 0
    for token in _TOKEN.finditer(text):
        if token.group() == "(":
            depth += 1
        elif token.group() == ")":
            depth = max(0, depth - 1)
    return text + ")" * depth


def _first_bad_token(query: str) -> tuple[int, str] | None:
    """Where a query stops being the beginning of any valid query: the offending token.

    promql_parser reports some errors without a position ("invalid promql query"); a prefix is
    still viable if a short ending (a closing parenthesis, an operand...) makes it parse.
    """
    tokens = [m for m in _TOKEN.finditer(query) if not m.group().isspace()]
    if len(tokens) > 200:
        return None
    for token in tokens:
        if token.group().startswith("#"):
            continue
        prefix = query[: token.end()]
        if not any(_parses(_closed(prefix + ending)) for ending in _COMPLETIONS):
            return token.start(), token.group()
    return None


def _describe_token(token: str) -> str:
    if token[0].isalpha() or token[0] in "_:":
        return f'unexpected identifier "{token}"'
    if token[0].isdigit() or token[0] == ".":
        return f'unexpected number "{token}"'
    if token[0] in "\"'`":
        return f"unexpected string {token}"
    return f'unexpected "{token}"'


def _bad(query: str, message: str, offset: int | None = None, hint: str = "") -> ParseError:
    if offset is None and message == "invalid promql query":
        found = _first_bad_token(query)
        if found is not None:
            offset, message = found[0], _describe_token(found[1])
        else:
            offset = len(query)
    if offset is None:
        offset, found_hint = _locate(query, message)
        hint = hint or found_hint
        message = _prometheus_wording(message)
    text = f"{_position(query, offset)}: parse error: {message}"
    if hint:
        text += f" ({hint})"
    return ParseError(text)


def unwrap_parens(node: Any) -> Any:
    """The expression inside any number of parentheses."""
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return node


def walk_nodes(expr: Any) -> list[Any]:
    """All nodes of ``expr`` in pre-order (the parser's own walk, collected)."""
    # An explicit stack, not ``pp.walk``: the parser's own walk takes time cubic in the depth
    # (a query nested 400 deep took 15-30 s; this takes under 1 ms).
    nodes: list[Any] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(reversed(_children(node)))
    return nodes


def _children(node: Any) -> list[Any]:
    if isinstance(node, pp.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, pp.AggregateExpr):
        return [node.expr] if node.param is None else [node.param, node.expr]
    if isinstance(node, pp.Call):
        return list(node.args)
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
        return [node.expr]
    return []


def _check_242(query: str, expr: Any) -> None:
    """Reject what promql_parser accepts but Prometheus 2.42 does not."""
    for node in walk_nodes(expr):
        if isinstance(node, pp.Call):
            name = node.func.name
            if name not in FUNCTIONS_242:
                found = re.search(rf"\b{re.escape(name)}\s*\(", query)
                close = difflib.get_close_matches(name, sorted(FUNCTIONS_242), n=1)
                hint = f"did you mean {close[0]!r}?" if close else ""
                raise _bad(
                    query,
                    f'unknown function with name "{name}"',
                    found.start() if found else 0,
                    hint,
                )
        elif isinstance(node, pp.AggregateExpr):
            op = str(node.op)
            if op not in _AGGREGATIONS_242:
                found = re.search(rf"\b{re.escape(op)}\s*\(", query)
                raise _bad(
                    query, f'unknown function with name "{op}"', found.start() if found else 0
                )
        elif isinstance(node, pp.BinaryExpr):
            mod = node.modifier
            if mod is not None and (
                mod.fill_values.lhs is not None or mod.fill_values.rhs is not None
            ):
                raise _bad(query, 'unexpected identifier "fill"', max(query.find("fill"), 0))
        elif isinstance(node, pp.VectorSelector) and node.matchers.or_matchers:
            found = re.search(r"\bor\b", query)
            raise _bad(
                query, 'unexpected identifier "or" in label matching', found.start() if found else 0
            )


_DURATION = re.compile(r"(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?")
_OFFSET = re.compile(r"\boffset\s*(-?)\s*([0-9A-Za-z_.]*)", re.IGNORECASE)


_QUOTE_OR_COMMENT = re.compile(r"[\"'`#]")


def _code_spans(query: str) -> list[tuple[int, int]]:
    """``(start, end)`` of the parts of ``query`` outside string literals and comments."""
    # Jumps from one quote or ``#`` to the next with a regex instead of looking at every
    # character in Python (this ran for every rule at every evaluation before parses were cached).
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(query)
    while True:
        found = _QUOTE_OR_COMMENT.search(query, start)
        if found is None:
            break
        i = found.start()
        ch = query[i]
        spans.append((start, i))
        if ch == "#":
            nl = query.find("\n", i)
            start = n if nl < 0 else nl
            continue
        j = i + 1
        if ch == "`":
            end = query.find("`", j)
            j = n if end < 0 else end
        else:
            while j < n and query[j] != ch:
                j += 2 if query[j] == "\\" else 1
        start = j + 1
    spans.append((start, n))
    return spans


def _check_durations(query: str) -> None:
    """Prometheus 2.42 requires a unit on every duration ([5m], offset 1h); newer parsers also
    take bare numbers of seconds, which 2.42 refuses."""
    for lo, hi in _code_spans(query):
        code = query[lo:hi]
        for found in re.finditer(r"\[([^\]]*)\]", code):
            pos = lo + found.start(1)
            for part in found.group(1).split(":"):
                token = part.strip()
                if token and not _DURATION.fullmatch(token) and re.fullmatch(r"[0-9.]+", token):
                    at = pos + part.index(token[0])
                    raise _bad(query, "missing unit character in duration", at)
                pos += len(part) + 1
        for found in _OFFSET.finditer(code):
            token = found.group(2)
            if token and re.fullmatch(r"[0-9.]+(e[0-9]+)?", token, re.IGNORECASE):
                raise _bad(
                    query,
                    f'unexpected number "{token}" in offset, expected duration',
                    lo + found.start(2),
                )


def _check_regexes(query: str, expr: Any) -> None:
    for node in walk_nodes(expr):
        selector = node.vector_selector if isinstance(node, pp.MatrixSelector) else node
        if not isinstance(selector, pp.VectorSelector):
            continue
        for m in selector.matchers.matchers:
            if str(m.op) in {"MatchOp.Re", "MatchOp.NotRe"}:
                problem = None
                try:
                    re.compile(go_regex(m.value))
                except re.error as exc:
                    problem = f"{exc.msg}: `{m.value}`"
                if problem is not None:
                    found = re.search(rf"\b{re.escape(m.name)}\s*[=!]~", query)
                    raise _bad(
                        query,
                        f"error parsing regexp: {problem}",
                        found.start() if found else 0,
                        "regexes use RE2 syntax and are fully anchored",
                    )


#: Deepest expression tree accepted. The parser (Rust) overflows its stack and kills the process
#: a few thousand levels down, and the evaluator recurses once per level; real queries nest a
#: few dozen levels at most.
_MAX_DEPTH = 200
_OPERATOR = re.compile(r"\b(?:and|or|unless|atan2)\b|==|!=|>=|<=|[-+*/%^<>]")


_BRACKET = re.compile(r"[(\[{)\]}]")
_OPENING = frozenset("([{")


def _check_size(query: str) -> None:
    """Refuse, before parsing, a query that would nest more than ``_MAX_DEPTH`` levels:
    the nesting of brackets and the number of operators (a chain of operators nests one level
    per operator) are both counted outside strings and comments."""
    depth = deepest = operators = 0
    for lo, hi in _code_spans(query):
        code = query[lo:hi]
        operators += len(_OPERATOR.findall(code))
        for bracket in _BRACKET.findall(code):
            if bracket in _OPENING:
                depth += 1
                deepest = max(deepest, depth)
            else:
                depth -= 1
    if deepest > _MAX_DEPTH or operators > 5 * _MAX_DEPTH:
        msg = (
            f"query too complex: it nests {deepest} brackets deep and has {operators} operators "
            f"(at most {_MAX_DEPTH} levels and {5 * _MAX_DEPTH} operators)"
        )
        raise ParseError(f"1:1: parse error: {msg}")


def _check_depth(query: str, expr: Any) -> None:
    stack = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            msg = f"query too complex: its expression nests more than {_MAX_DEPTH} levels deep"
            raise ParseError(f"1:1: parse error: {msg}")
        stack.extend((child, depth + 1) for child in _children(node))


#: Longest query whose parse is kept: rule expressions and dashboard queries are parsed again at
#: every evaluation or refresh; a few unusually long ad-hoc queries need not stay in memory.
_CACHED_QUERY_CHARS = 8192
_CACHE_ENTRIES = 4096


def parse_expr(query: str) -> Any:
    """Parse ``query``; raise :class:`ParseError` with ``line:col`` and a hint if invalid.

    Parsing is pure and the parser's nodes are immutable, so the trees of recently parsed
    queries are kept (a least-recently-used cache keyed on the text): a rule evaluated every
    interval, or a dashboard refreshed, is parsed and checked once. Errors are not kept.
    """
    if len(query) > _CACHED_QUERY_CHARS:
        return _parse_uncached(query)
    return _parse_cached(query)


def _parse_uncached(query: str) -> Any:
    if not _registered:
        _register_holt_winters()
    _check_size(query)
    try:
        expr = pp.parse(query)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # Rust panics derive from BaseException
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid query"
        raise _bad(query, message) from None
    _check_depth(query, expr)
    _check_242(query, expr)
    _check_durations(query)
    _check_regexes(query, expr)
    return expr


_parse_cached = functools.lru_cache(maxsize=_CACHE_ENTRIES)(_parse_uncached)
