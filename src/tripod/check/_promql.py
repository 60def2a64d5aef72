"""PromQL facts for the rule-file and dashboard checks, from ``promql-parser``'s tree.

``promql-parser`` ships with the ``check`` extra (and with ``server``/``codegen``); without it
:data:`AVAILABLE` is False and the PromQL checks are skipped with one notice.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any

try:
    import promql_parser as pp

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised only on the SDK's light install
    pp = None  # type: ignore[assignment]
    AVAILABLE = False

RANGE_FUNCTIONS = frozenset(
    {
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "deriv",
        "resets",
        "changes",
        "predict_linear",
        "holt_winters",
        "double_exponential_smoothing",
    }
)
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})
#: Functions under which a raw counter value is fine (they read presence or labels, not value).
PRESENCE = frozenset(
    {
        "absent",
        "absent_over_time",
        "present_over_time",
        "count",
        "group",
        "count_over_time",
        "timestamp",
        "last_over_time",
        "changes",
        "resets",
    }
)
COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
_COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
_REGEX_META = re.compile(r"[.*+?()\[\]{}|\\^$]")


@dataclasses.dataclass(frozen=True)
class Selector:
    name: str  # "" when the selector has no metric name
    regexes: tuple[tuple[str, str], ...]  # (label, raw regex) of =~ and !~ matchers
    range: datetime.timedelta | None
    functions: tuple[str, ...]  # enclosing calls and aggregations, innermost last


@dataclasses.dataclass
class Facts:
    selectors: list[Selector] = dataclasses.field(default_factory=list)
    output_labels: frozenset[str] | None = None  # None: unknown (may carry any label)
    has_comparison: bool = False
    top_call: str = ""


def parse(expr: str) -> Any:
    """The parsed tree; raises ValueError with the parser's message."""
    if pp is None:  # pragma: no cover
        msg = "promql-parser is not installed"
        raise ValueError(msg)
    try:
        return pp.parse(expr)
    except (ValueError, RuntimeError, TypeError) as exc:
        raise ValueError(str(exc).splitlines()[0] if str(exc) else "syntax error") from None


def facts(expr: str) -> Facts:
    tree = parse(expr)
    out = Facts()
    _walk(tree, (), out)
    out.output_labels = _labels(tree)
    root = tree
    while isinstance(root, pp.ParenExpr):
        root = root.expr
    out.has_comparison = _compares(root)
    if isinstance(root, pp.Call):
        out.top_call = root.func.name
    return out


def _compares(node: Any) -> bool:
    """Whether a filtering comparison (not ``bool``) or ``absent()`` sits anywhere in the tree."""
    if isinstance(node, pp.BinaryExpr):
        mod = node.modifier
        if str(node.op) in _COMPARISONS and not (mod is not None and mod.return_bool):
            return True
        return _compares(node.lhs) or _compares(node.rhs)
    if isinstance(node, pp.Call):
        if node.func.name in {"absent", "absent_over_time"}:
            return True
        return any(_compares(a) for a in node.args)
    if isinstance(node, pp.ParenExpr | pp.AggregateExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return _compares(node.expr)
    return False


def _selector(vs: Any, rng: datetime.timedelta | None, funcs: tuple[str, ...]) -> Selector:
    name = vs.name or ""
    regexes: list[tuple[str, str]] = []
    for m in vs.matchers.matchers:
        if m.name == "__name__" and m.op == pp.MatchOp.Equal and not name:
            name = m.value
        elif m.op in (pp.MatchOp.Re, pp.MatchOp.NotRe):
            regexes.append((m.name, m.value))
    return Selector(name, tuple(regexes), rng, funcs)


def _walk(node: Any, funcs: tuple[str, ...], out: Facts) -> None:
    if isinstance(node, pp.VectorSelector):
        out.selectors.append(_selector(node, None, funcs))
    elif isinstance(node, pp.MatrixSelector):
        out.selectors.append(_selector(node.vector_selector, node.range, funcs))
    elif isinstance(node, pp.Call):
        for arg in node.args:
            _walk(arg, (*funcs, node.func.name), out)
    elif isinstance(node, pp.AggregateExpr):
        _walk(node.expr, (*funcs, str(node.op)), out)
        if node.param is not None:
            _walk(node.param, funcs, out)
    elif isinstance(node, pp.ParenExpr | pp.UnaryExpr):
        _walk(node.expr, funcs, out)
    elif isinstance(node, pp.SubqueryExpr):
        _walk(node.expr, (*funcs, "subquery"), out)
    elif isinstance(node, pp.BinaryExpr):
        _walk(node.lhs, funcs, out)
        _walk(node.rhs, funcs, out)


def _labels(node: Any) -> frozenset[str] | None:
    if isinstance(node, pp.VectorSelector | pp.MatrixSelector):
        return None
    if isinstance(node, pp.NumberLiteral | pp.StringLiteral):
        return frozenset()
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return _labels(node.expr)
    if isinstance(node, pp.Call):
        return _call_labels(node)
    if isinstance(node, pp.AggregateExpr):
        op = str(node.op)
        if op in {"topk", "bottomk", "limitk", "limit_ratio"}:
            return _labels(node.expr)
        mod = node.modifier
        if mod is None:
            return frozenset()
        if str(mod.type).endswith("By"):
            param: Any = getattr(node, "param", None)
            extra = {str(param.val)} if op == "count_values" and hasattr(param, "val") else set()
            return frozenset(mod.labels) | extra
        return None
    if isinstance(node, pp.BinaryExpr):
        return _binary_labels(node)
    return None


def _call_labels(node: Any) -> frozenset[str] | None:
    name = node.func.name
    if name in {"vector", "time", "scalar", "pi"}:
        return frozenset()
    if name in {"absent", "absent_over_time"}:
        arg = node.args[0]
        vs = arg.vector_selector if isinstance(arg, pp.MatrixSelector) else arg
        if isinstance(vs, pp.VectorSelector):
            return frozenset(
                m.name
                for m in vs.matchers.matchers
                if m.op == pp.MatchOp.Equal and m.name != "__name__"
            )
        return frozenset()
    if name in {"label_replace", "label_join"}:
        inner = _labels(node.args[0])
        dst = node.args[1]
        return None if inner is None else inner | {getattr(dst, "val", "")}
    for arg in node.args:
        if not isinstance(arg, pp.NumberLiteral | pp.StringLiteral):
            return _labels(arg)
    return frozenset()


def _binary_labels(node: Any) -> frozenset[str] | None:
    op = str(node.op)
    lhs, rhs = _labels(node.lhs), _labels(node.rhs)
    if _is_scalar(node.lhs):
        return rhs
    if _is_scalar(node.rhs):
        return lhs
    mod = node.modifier
    if op == "or":
        return None if lhs is None or rhs is None else lhs | rhs
    if op in {"and", "unless"} or (op in _COMPARISONS and not (mod and mod.return_bool)):
        return lhs
    matching = mod.matching if mod is not None else None
    if matching is not None and str(matching.type).endswith("On"):
        return frozenset(matching.labels) | frozenset(mod.group_labels or ())
    if lhs is None:
        return None
    if matching is not None:
        return lhs - frozenset(matching.labels)
    return lhs


def _is_scalar(node: Any) -> bool:
    while isinstance(node, pp.ParenExpr | pp.UnaryExpr):
        node = node.expr
    return isinstance(node, pp.NumberLiteral) or (
        isinstance(node, pp.Call) and node.func.name in {"scalar", "time", "pi"}
    )


def regexp_problem(raw: str) -> str | None:
    """pint's promql/regexp: a regex that is a plain string, or anchored by hand."""
    if raw.startswith("^") or (raw.endswith("$") and not raw.endswith("\\$")):
        return f"regex {raw!r} carries anchors; Prometheus anchors every regex already"
    if raw and not _REGEX_META.search(raw):
        return f"regex {raw!r} has no special characters; use = or != instead of =~ or !~"
    return None


def counter_like(name: str) -> bool:
    return name.endswith(COUNTER_SUFFIXES)
