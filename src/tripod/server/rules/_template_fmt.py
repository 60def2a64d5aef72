"""Go's fmt for template values: %v printing, Sprint, and Sprintf for the common verbs.

Floats follow strconv: %v and %g print the shortest digits that round-trip, with an exponent
when it is < -4 or >= 6 (1e+06, 1e-05, 123456); `+Inf`, `-Inf` and `NaN` as Go spells them.
Go's "%!d(float64=1.5)" forms for a verb that does not fit the value are reproduced; a verb or
flag that Go supports but this module does not raises TemplateError instead of printing
something Go would not.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal

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

__all__ = ["format_float_g", "go_quote", "print_value", "sprint", "sprintf"]

_VERB = re.compile(r"%([-+# 0]*)([0-9]+)?(?:\.([0-9]*))?(.?)", re.S)


def _shortest(x: float) -> tuple[str, int]:
    """The shortest round-trip digits of |x| and the decimal point position (strconv's dp)."""
    _, digits, exponent = Decimal(repr(abs(x))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0")
    if not text:
        return "0", 1
    return text, len(digits) + int(exponent)


def _exp(digits: str, dp: int, upper: bool) -> str:
    exp = dp - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{mant}{'E' if upper else 'e'}{'-' if exp < 0 else '+'}{abs(exp):02d}"


def format_float_g(x: float, prec: int = -1, upper: bool = False) -> str:
    """strconv.FormatFloat(x, 'g', prec, 64), with Go's Inf/NaN spellings."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    neg = "-" if math.copysign(1.0, x) < 0 else ""
    if prec >= 0:
        out = f"{abs(x):.{max(prec, 1)}{'G' if upper else 'g'}}"
        return neg + out
    digits, dp = _shortest(x)
    if digits == "0":
        return neg + "0"
    exp = dp - 1
    if exp < -4 or exp >= 6:
        return neg + _exp(digits, dp, upper)
    if dp <= 0:
        return neg + "0." + "0" * -dp + digits
    if dp >= len(digits):
        return neg + digits + "0" * (dp - len(digits))
    return neg + digits[:dp] + "." + digits[dp:]


def go_quote(s: str, *, ascii_only: bool = False) -> str:
    """strconv.Quote (or QuoteToASCII, for %+q): printable runes kept, the rest escaped."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code > 0x7F and (
            ascii_only or not ch.isprintable() or unicodedata.category(ch) == "Zs"
        ):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_Spec = tuple[str, int | None, int | None]  # flags, width, precision
_PLAIN: _Spec = ("", None, None)


def _v(value: Value, verb: str, top: bool, spec: _Spec = _PLAIN) -> str:
    """%v of one value; composites apply `verb` and `spec` to each element, as Go does."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float_g(value)
    if isinstance(value, str):
        return value
    if isinstance(value, StrMap | AnyMap):
        inner = " ".join(
            f"{_elem(k, verb, spec)}:{_elem(v, verb, spec)}" for k, v in sorted(value.items())
        )
        return f"map[{inner}]"
    if isinstance(value, QuerySample):
        body = f"{{{_elem(StrMap(value.labels), verb, spec)} {_elem(value.value, verb, spec)}}}"
        if top:
            return "&" + body
        msg = "a query sample can only be printed on its own, not inside another value"
        raise TemplateError(msg)
    if isinstance(value, Root):
        fields = (value.labels, value.external_labels, value.external_url, value.value)
        return "{" + " ".join(_elem(f, verb, spec) for f in fields) + "}"
    if isinstance(value, QueryResult):
        msg = "a query result has no printed form (Go prints pointers); use range or first"
        raise TemplateError(msg)
    msg = f"cannot print a value of type {type(value).__name__}"
    raise TemplateError(msg)


def _elem(value: Value, verb: str, spec: _Spec) -> str:
    return _format_one(value, verb, *spec, top=False)


def print_value(value: Value) -> str:
    """How `{{ pipeline }}` prints a value (text/template printValue)."""
    if value is None:
        return "<no value>"
    if isinstance(value, QuerySample):  # text/template dereferences the pointer first
        return _v(value, "v", top=True).removeprefix("&")
    return _v(value, "v", top=True)


def sprint(args: list[Value]) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(_v(arg, "v", top=True))
    return "".join(out)


def _pad(text: str, flags: str, width: int | None, numeric: bool) -> str:
    if width is None or len(text) >= width:
        return text
    fill = width - len(text)
    if "-" in flags:
        return text + " " * fill
    if "0" in flags:
        if numeric and text[:1] in "+- ":
            return text[0] + "0" * fill + text[1:]
        return "0" * fill + text
    return " " * fill + text


def _bad(verb: str, value: Value, spec: _Spec) -> str:
    """Go's "%!d(float64=1.5)": the value printed with %v and the same flags and width."""
    if value is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type_name(value)}={_format_one(value, 'v', *spec)})"


def _sign(text: str, flags: str, negative: bool) -> str:
    if negative:
        return "-" + text
    if "+" in flags:
        return "+" + text
    if " " in flags:
        return " " + text
    return text


def _format_float(x: float, verb: str, flags: str, prec: int | None) -> str:
    if math.isnan(x) or math.isinf(x):
        text = "NaN" if math.isnan(x) else ("+Inf" if x > 0 else "-Inf")
        if text == "NaN" and ("+" in flags or " " in flags):
            text = ("+" if "+" in flags else " ") + text
        return text
    neg = math.copysign(1.0, x) < 0
    ax = abs(x)
    if verb in ("e", "E", "f", "F"):
        spec = {"F": "f"}.get(verb, verb)
        body = f"{ax:.{6 if prec is None else prec}{spec}}"
    else:
        body = format_float_g(ax, -1 if prec is None else prec, upper=verb == "G")
    return _sign(body, flags, neg)


def _format_int(n: int, verb: str, flags: str, width: int | None, prec: int | None) -> str:
    """Go's fmtInteger, fmtC, fmtQc and fmtUnicode, padding included."""
    valid = 0 <= n <= 0x10FFFF and not 0xD800 <= n <= 0xDFFF
    rune = chr(n) if valid else "\ufffd"  # Go prints utf8.RuneError for an invalid rune
    if verb == "c":
        return _pad(rune, flags, width, numeric=False)
    if verb == "q":
        inner = go_quote(rune, ascii_only="+" in flags)[1:-1]
        quoted = "'" + inner.replace("'", "\\'").replace('\\"', '"') + "'"
        return _pad(quoted, flags, width, numeric=False)
    if verb == "U":
        digits = f"{n % 2**64:X}".rjust(max(4, prec or 0), "0")
        return _pad("U+" + digits, flags.replace("0", ""), width, numeric=False)
    base = {"d": "d", "v": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb]
    sign = "-" if n < 0 else "+" if "+" in flags else " " if " " in flags else ""
    if prec == 0 and n == 0:  # Go: precision 0 and value 0 print nothing but the padding
        return " " * (width or 0)
    digits = format(abs(n), base)
    if prec is not None:
        digits = digits.rjust(prec, "0")
    elif "0" in flags and "-" not in flags and width is not None:
        digits = digits.rjust(width - len(sign), "0")  # %05d: zeros as precision, sign first
    return _pad(sign + digits, flags.replace("0", ""), width, numeric=False)


_UNSUPPORTED = {"float64": "bxX", "int": "O", "string": "", "bool": ""}


def _format_one(
    value: Value, verb: str, flags: str, width: int | None, prec: int | None, *, top: bool = True
) -> str:
    if verb in _UNSUPPORTED.get(go_type_name(value), ""):
        msg = f"printf: %{verb} of a {go_type_name(value)} is not supported"
        raise TemplateError(msg)
    numeric = False
    if isinstance(value, bool):
        if verb not in ("v", "t"):
            return _bad(verb, value, (flags, width, prec))
        text = "true" if value else "false"
    elif isinstance(value, int):
        if verb not in "dvxXobcqU":
            return _bad(verb, value, (flags, width, prec))
        return _format_int(value, verb, flags, width, prec)
    elif isinstance(value, float):
        if verb not in "veEfFgG":
            return _bad(verb, value, (flags, width, prec))
        text = _format_float(value, "g" if verb == "v" else verb, flags, prec)
        numeric = math.isfinite(value)
    elif isinstance(value, str):
        if verb not in "vsqxX":
            return _bad(verb, value, (flags, width, prec))
        s = value if prec is None else value[:prec]
        if verb == "q":
            text = go_quote(s, ascii_only="+" in flags)
        elif verb in ("x", "X"):
            text = s.encode().hex(" ") if " " in flags else s.encode().hex()
            text = text.upper() if verb == "X" else text
        else:
            text = s
    elif value is None:
        if verb != "v":
            return _bad(verb, value, (flags, width, prec))
        text = "<nil>"
    else:  # composites: the verb, flags and width apply to each element
        return _v(value, verb, top=top, spec=(flags, width, prec))
    return _pad(text, flags, width, numeric)


def sprintf(fmt: str, args: list[Value]) -> str:
    """fmt.Sprintf for flags `-+ 0`, widths, precisions and the verbs v s d f F e E g G x X
    o b c q t U and %%; `#`, `*` and argument indexes raise TemplateError."""
    out: list[str] = []
    pos = argi = 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, prec, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":  # Go: a literal percent, whatever flags, width or precision
            out.append("%")
            continue
        if not verb:
            out.append("%!(NOVERB)")
            continue
        if verb == "T" and argi < len(args):  # the type name, formatted as a string (%s)
            name = go_type_name(args[argi])
            if args[argi] is not None and prec is not None:
                name = name[: int(prec or "0")]
            out.append(_pad(name, flags, None if width is None else int(width), False))
            argi += 1
            continue
        if "#" in flags or verb in ("*", "["):
            msg = f"printf: {m.group()!r} is not supported (no '#' flag, '*' width or %[n])"
            raise TemplateError(msg)
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = args[argi]
        argi += 1
        if verb == "v" and "+" in flags:  # Go's %+v: no sign; field names in structs
            if isinstance(value, QuerySample | Root):
                msg = "printf: %+v of a struct (field names) is not supported"
                raise TemplateError(msg)
            flags = flags.replace("+", "")
        precision = None if prec is None else int(prec or "0")
        out.append(
            _format_one(value, verb, flags, None if width is None else int(width), precision)
        )
    out.append(fmt[pos:])
    if argi < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{go_type_name(a)}={_v(a, 'v', top=True)}"
            for a in args[argi:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
