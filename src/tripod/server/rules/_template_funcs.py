"""The template function table: Prometheus 2.42's funcMap and Go's builtins, over template values.

Each function declares its Go parameter kinds (so the evaluator can check arguments as
text/template does) and raises CallError for what Go returns as an error; the evaluator turns
that into "error calling NAME: ...".
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
from collections.abc import Callable

from tripod.server.rules._template_fmt import format_float_g, go_quote, sprint, sprintf
from tripod.server.rules._template_regex import match, re_replace_all
from tripod.server.rules._template_types import (
    HTML,
    AnyMap,
    CallError,
    QueryResult,
    QuerySample,
    StrMap,
    Value,
    go_kind,
    go_type_name,
)

__all__ = ["FUNCS", "UNSUPPORTED_PROMETHEUS", "CallError", "Func", "run_query", "truth"]

# Functions Prometheus 2.42 (or Go) defines that tripod refuses at load time.
UNSUPPORTED_PROMETHEUS = frozenset(
    {
        "toTime", "parseDuration", "stripDomain", "pathPrefix", "externalURL", "graphLink",
        "tableLink", "tmpl", "html", "js", "urlquery", "slice", "call", "println",
    }
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Func:
    """A template function: Go parameter kinds ("string", "any", "sample", "result")."""

    params: tuple[str, ...]
    variadic: str | None
    impl: Callable[..., Value]


def truth(value: Value) -> bool:
    """Go text/template's isTrue: false, 0, nil, and empty strings, maps and slices are false."""
    if value is None:
        return False
    if isinstance(value, bool | int | float):
        return value != 0
    if isinstance(value, str | StrMap | AnyMap | QueryResult):
        return len(value) > 0
    return True


def _parse_float(s: str) -> float:
    """strconv.ParseFloat(s, 64): Go's syntax, not Python's (no spaces, no bare underscores)."""
    bad = CallError(f"strconv.ParseFloat: parsing {go_quote(s)}: invalid syntax")
    body = s.lstrip("+-") if s[:1] in "+-" else s
    if s[1:2] in "+-" and s[:1] in "+-":
        raise bad
    low = body.lower()
    if low in ("inf", "infinity"):
        return -math.inf if s.startswith("-") else math.inf
    if low == "nan" and body == s:
        return math.nan
    try:
        if re.fullmatch(r"0[xX](_?[0-9a-fA-F])*\.?([0-9a-fA-F]_?)*[pP][+-]?[0-9]+", body):
            value = float.fromhex(body.replace("_", ""))
        elif re.fullmatch(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", body):
            value = float(body)
        else:
            raise bad
    except (ValueError, OverflowError):
        raise bad from None
    if math.isinf(value):
        msg = f"strconv.ParseFloat: parsing {go_quote(s)}: value out of range"
        raise CallError(msg)
    return -value if s.startswith("-") else value


def _to_float(value: Value) -> float:
    """Prometheus's convertToFloat: float64, string, and Go's integer types."""
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        return _parse_float(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    msg = f"can't convert {go_type_name(value) if value is not None else '<nil>'} to float"
    raise CallError(msg)


def _g4(v: float) -> str:
    return format_float_g(v, 4)


def _humanize(arg: Value) -> str:
    v = _to_float(arg)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
        return _g4(v) + prefix
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return _g4(v) + prefix


def _humanize1024(arg: Value) -> str:
    v = _to_float(arg)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return _g4(v) + prefix


def _go_int64(v: float) -> int:
    """Go's int64(v) on amd64: out of range gives the "integer indefinite" MinInt64."""
    if not -(2**63) <= v < 2**63:
        return -(2**63)
    return int(v)


def _quo(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _rem(a: int, b: int) -> int:
    """Go's % (the sign of the dividend)."""
    return a - _quo(a, b) * b


def _humanize_duration(arg: Value) -> str:
    v = _to_float(arg)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        total = _go_int64(v)
        seconds, minutes = _rem(total, 60), _rem(_quo(total, 60), 60)
        hours, days = _rem(_quo(total, 3600), 24), _quo(total, 86400)
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


def _humanize_percentage(arg: Value) -> str:
    return _g4(_to_float(arg) * 100) + "%"


def _humanize_timestamp(arg: Value) -> str:
    v = _to_float(arg)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    ns = v * 1e9
    if ns > 9.223372036854775807e18 or ns < -9.223372036854775808e18:
        msg = (
            f"{format_float_g(v)} cannot be represented as a nanoseconds timestamp"
            " since it overflows int64"
        )
        raise CallError(msg)
    nanos = int(ns)
    millis = abs(nanos) // 1_000_000 * (1 if nanos >= 0 else -1)
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=millis)
    frac = f".{t.microsecond // 1000:03d}".rstrip("0") if t.microsecond else ""
    return t.strftime("%Y-%m-%d %H:%M:%S") + frac.rstrip(".") + " +0000 UTC"


def _split_host(hostport: str) -> str | None:
    """The host of net.SplitHostPort, or None where Go returns an error."""
    i = hostport.rfind(":")
    if i < 0:
        return None
    j = k = 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or end + 1 != i:
            return None
        host, j, k = hostport[1:end], 1, end + 1
    else:
        host = hostport[:i]
        if ":" in host:
            return None
    if "[" in hostport[j:] or "]" in hostport[k:]:
        return None
    return host


def _strip_port(hostport: str) -> str:
    host = _split_host(hostport)
    return hostport if host is None else host


def _is_separator(ch: str) -> bool:
    if ord(ch) <= 0x7F:
        return not (ch.isalnum() or ch == "_")
    if ch.isalpha() or ch.isdigit():
        return False
    return ch.isspace()


def _per_rune(ch: str, mapped: str) -> str:
    return mapped if len(mapped) == 1 else ch


def _title(s: str) -> str:
    """strings.Title: upper-case (title-case) the first letter after each separator."""
    out, prev = [], " "
    for ch in s:
        out.append(_per_rune(ch, ch.title()) if _is_separator(prev) else ch)
        prev = ch
    return "".join(out)


def _nil_sample(s: QuerySample | None) -> QuerySample:
    if s is None:
        msg = "runtime error: invalid memory address or nil pointer dereference"
        raise CallError(msg)
    return s


def _first(v: QueryResult | None) -> QuerySample:
    if not v:
        msg = "first() called on vector with no elements"
        raise CallError(msg)
    return v[0]


def _sort_by_label(label: str, v: QueryResult | None) -> QueryResult:
    result = v if v is not None else QueryResult()
    result.sort(key=lambda s: s.labels.get(label, "").encode())
    return result


# --- Go builtins: comparison, len, index ------------------------------------------------------


def _kind(v: Value) -> str | None:
    """Go's basicKind: bool, int, float or string; None for the rest."""
    kind = go_kind(v)
    return kind if kind in ("bool", "int", "float", "string") else None


def _eq(arg1: Value, *others: Value) -> bool:
    if not others:
        msg = "missing argument for comparison"
        raise CallError(msg)
    k1 = _kind(arg1)
    for arg in others:
        k2 = _kind(arg)
        if k1 != k2:
            if arg1 is not None and arg is not None:
                msg = "incompatible types for comparison"
                raise CallError(msg)
        elif k1 is not None:
            if arg1 == arg:
                return True
        elif arg1 is None or arg is None:
            if arg1 is None and arg is None:
                return True
        elif go_kind(arg1) != go_kind(arg):
            msg = (
                f"non-comparable types {sprintf('%s', [arg1])}: {go_type_name(arg1)}, "
                f"{go_type_name(arg)}: {sprintf('%v', [arg])}"
            )
            raise CallError(msg)
        elif isinstance(arg, QuerySample):  # pointers: the same sample
            if arg1 is arg:
                return True
        else:
            msg = f"non-comparable type {sprintf('%s', [arg])}: {go_type_name(arg)}"
            raise CallError(msg)
    return False


def _lt(a: Value, b: Value) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka is None or kb is None:
        msg = "invalid type for comparison"
        raise CallError(msg)
    if ka != kb:
        msg = "incompatible types for comparison"
        raise CallError(msg)
    if ka == "bool":
        msg = "invalid type for comparison"
        raise CallError(msg)
    return bool(a < b)  # type: ignore[operator]


def _le(a: Value, b: Value) -> bool:
    return _lt(a, b) or _eq(a, b)


def _len(item: Value) -> int:
    if item is None:  # Go asks a zero reflect.Value for its type, and recovers the panic
        msg = "reflect: call of reflect.Value.Type on zero Value"
        raise CallError(msg)
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, StrMap | AnyMap | QueryResult):
        return len(item)
    msg = f"len of type {go_type_name(item).removeprefix('*')}"  # Go looks through the pointer
    raise CallError(msg)


def _index(item: Value, *indexes: Value) -> Value:
    if item is None:
        msg = "index of untyped nil"
        raise CallError(msg)
    for depth, index in enumerate(indexes):
        if isinstance(item, str | QueryResult):
            if index is None:
                msg = "cannot index slice/array with nil"
                raise CallError(msg)
            if not isinstance(index, int) or isinstance(index, bool):
                msg = f"cannot index slice/array with type {go_type_name(index)}"
                raise CallError(msg)
            size = len(item.encode()) if isinstance(item, str) else len(item)
            # Go 1.19 (as promtool shows) refuses index == len with its own message only for a
            # string given directly; otherwise reflect panics on it.
            if (
                index < 0
                or index > size
                or (index == size and isinstance(item, str) and depth == 0)
            ):
                msg = f"index out of range: {index}"
                raise CallError(msg)
            if index == size:
                msg = (
                    f"reflect: {'string' if isinstance(item, str) else 'slice'} index out of range"
                )
                raise CallError(msg)
            item = item.encode()[index] if isinstance(item, str) else item[index]
        elif isinstance(item, StrMap | AnyMap):
            if index is None:
                msg = "value is nil; should be of type string"
                raise CallError(msg)
            if not isinstance(index, str):
                msg = f"value has type {go_type_name(index)}; should be string"
                raise CallError(msg)
            item = item.get(index, "" if isinstance(item, StrMap) else None)
        else:
            msg = f"can't index item of type {go_type_name(item).removeprefix('*')}"
            raise CallError(msg)
    return item


def run_query(fn: Callable[[str], QueryResult], q: str) -> QueryResult:
    """`query`: the evaluator binds `fn` (the rule's instant query). Whatever `fn` raises (a
    PromQL error, a timeout) is the function's error, as Go's `(queryResult, error)` return."""
    try:
        return fn(q)
    except Exception as exc:  # the query's failure is reported in the template's error text
        raise CallError(str(exc)) from exc


def _unbound_query(q: str) -> QueryResult:
    msg = f"query {q!r} needs the rule evaluator's query function"
    raise CallError(msg)


_ANY = "any"
_STR = "string"
FUNCS: dict[str, Func] = {
    # Go builtins (and/or are evaluated by the evaluator: they short-circuit)
    "and": Func((_ANY,), _ANY, lambda *a: a[-1]),
    "or": Func((_ANY,), _ANY, lambda *a: a[-1]),
    "not": Func((_ANY,), None, lambda a: not truth(a)),
    "eq": Func((_ANY,), _ANY, _eq),
    "ne": Func((_ANY, _ANY), None, lambda a, b: not _eq(a, b)),
    "lt": Func((_ANY, _ANY), None, _lt),
    "le": Func((_ANY, _ANY), None, _le),
    "gt": Func((_ANY, _ANY), None, lambda a, b: not _le(a, b)),
    "ge": Func((_ANY, _ANY), None, lambda a, b: not _lt(a, b)),
    "len": Func((_ANY,), None, _len),
    "index": Func((_ANY,), _ANY, _index),
    "print": Func((), _ANY, lambda *a: sprint(list(a))),
    "printf": Func((_STR,), _ANY, lambda f, *a: sprintf(f, list(a))),
    # Prometheus 2.42 template/template.go
    "query": Func((_STR,), None, _unbound_query),
    "first": Func(("result",), None, _first),
    "label": Func((_STR, "sample"), None, lambda n, s: _nil_sample(s).labels.get(n, "")),
    "value": Func(("sample",), None, lambda s: _nil_sample(s).value),
    "strvalue": Func(("sample",), None, lambda s: _nil_sample(s).labels.get("__value__", "")),
    "sortByLabel": Func((_STR, "result"), None, _sort_by_label),
    "args": Func((), _ANY, lambda *a: AnyMap({f"arg{i}": v for i, v in enumerate(a)})),
    "reReplaceAll": Func((_STR, _STR, _STR), None, re_replace_all),
    "match": Func((_STR, _STR), None, match),
    "safeHtml": Func((_STR,), None, HTML),
    "title": Func((_STR,), None, _title),
    "toUpper": Func((_STR,), None, lambda s: "".join(_per_rune(c, c.upper()) for c in s)),
    "toLower": Func((_STR,), None, lambda s: "".join(_per_rune(c, c.lower()) for c in s)),
    "stripPort": Func((_STR,), None, _strip_port),
    "humanize": Func((_ANY,), None, _humanize),
    "humanize1024": Func((_ANY,), None, _humanize1024),
    "humanizeDuration": Func((_ANY,), None, _humanize_duration),
    "humanizePercentage": Func((_ANY,), None, _humanize_percentage),
    "humanizeTimestamp": Func((_ANY,), None, _humanize_timestamp),
}
