"""PromQL's series notation, as promtool's ``input_series`` and ``exp_samples`` use it.

``metric{label="value"}`` is a label set (``{}`` or nothing: no labels). Values are items
separated by spaces: ``1``, ``-2.5``, ``Inf``, ``stale`` (a staleness marker), ``_`` (no
sample), ``_x3`` (three missing samples), ``5x3`` (5 four times), ``1+2x3`` (1 3 5 7) and
``10-1x2`` (10 9 8); the step is added repeatedly, in floating point, as Prometheus does.
"""

from __future__ import annotations

import re

from tripod.server.store.model import STALE_NAN

__all__ = ["NotationError", "parse_metric", "parse_series", "parse_values"]

_NUMBER = r"(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]*)?|[iI][nN][fF]|[nN][aA][nN])"
_ITEM = re.compile(
    rf"(?:(?P<blank>_)(?:x(?P<blank_n>[0-9]+))?"
    rf"|(?P<stale>stale)"
    rf"|(?P<value>[+-]?{_NUMBER})(?:(?P<step>[+-]{_NUMBER})?x(?P<times>[0-9]+))?)\Z"
)
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SPACE = re.compile(r"[ \t\n\r]*")
_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
}
_HEX_LEN = {"x": 2, "u": 4, "U": 8}


class NotationError(ValueError):
    """The text is not valid series notation; the message says where."""


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        msg = f"bad number syntax: {text!r}"
        raise NotationError(msg) from None


def parse_values(text: str) -> list[float | None]:
    """The values of a series, in order; ``None`` for an omitted sample."""
    out: list[float | None] = []
    for item in text.split():
        m = _ITEM.match(item)
        if m is None:
            msg = f"unexpected {item!r} in series values: expected a number, 'stale' or '_'"
            raise NotationError(msg)
        if m["blank"]:
            out.extend([None] * (int(m["blank_n"]) if m["blank_n"] else 1))
        elif m["stale"]:
            out.append(STALE_NAN)
        else:
            value = _number(m["value"])
            if m["times"] is None:
                out.append(value)
                continue
            step = _number(m["step"]) if m["step"] else 0.0
            for _ in range(int(m["times"]) + 1):
                out.append(value)
                value += step
    return out


def _unquote(text: str, pos: int) -> tuple[str, int]:
    """A Go/PromQL string literal starting at ``pos``: its value and the position after it."""
    quote = text[pos]
    if quote == "`":
        end = text.find("`", pos + 1)
        if end < 0:
            msg = "unterminated raw string"
            raise NotationError(msg)
        return text[pos + 1 : end], end + 1
    out: list[str] = []
    i = pos + 1
    while i < len(text):
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\n":
            break
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        e = text[i : i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 1
        elif e in _HEX_LEN:
            digits = text[i + 1 : i + 1 + _HEX_LEN[e]]
            if len(digits) != _HEX_LEN[e] or not all(d in "0123456789abcdefABCDEF" for d in digits):
                msg = f"invalid escape sequence \\{e}{digits}"
                raise NotationError(msg)
            out.append(chr(int(digits, 16)))
            i += 1 + _HEX_LEN[e]
        elif e and e in "01234567":
            digits = text[i : i + 3]
            if len(digits) != 3 or not all(d in "01234567" for d in digits):
                msg = f"invalid escape sequence \\{digits}"
                raise NotationError(msg)
            out.append(chr(int(digits, 8)))
            i += 3
        else:
            msg = f"unknown escape sequence \\{e}"
            raise NotationError(msg)
    msg = "unterminated quoted string"
    raise NotationError(msg)


def _skip(text: str, pos: int) -> int:
    m = _SPACE.match(text, pos)
    return m.end() if m else pos


def _metric(text: str) -> tuple[dict[str, str], int]:
    """Parse ``name{labels}`` at the start of ``text``; returns the labels and where it ended."""
    labels: dict[str, str] = {}
    pos = _skip(text, 0)
    m = _IDENT.match(text, pos)
    if m is not None:
        labels["__name__"] = m.group()
        pos = m.end()
    if pos < len(text) and text[pos] == "{":
        pos = _skip(text, pos + 1)
        while pos < len(text) and text[pos] != "}":
            lm = _LABEL.match(text, pos)
            if lm is None:
                msg = f"unexpected {text[pos]!r} in label set: expected a label name"
                raise NotationError(msg)
            pos = _skip(text, lm.end())
            if text[pos : pos + 1] != "=":
                msg = f"unexpected {text[pos : pos + 1]!r} in label set: expected '='"
                raise NotationError(msg)
            pos = _skip(text, pos + 1)
            if text[pos : pos + 1] not in {'"', "'", "`"}:
                msg = "unexpected character in label set: expected a quoted string"
                raise NotationError(msg)
            value, pos = _unquote(text, pos)
            labels[lm.group()] = value
            pos = _skip(text, pos)
            if text[pos : pos + 1] == ",":
                pos = _skip(text, pos + 1)
            elif text[pos : pos + 1] != "}":
                msg = "unexpected character in label set: expected ',' or '}'"
                raise NotationError(msg)
        if pos >= len(text):
            msg = "unexpected end of input in label set"
            raise NotationError(msg)
        pos += 1
    elif m is None and text[pos:].strip():
        msg = (
            f"unexpected {text[pos:].split(maxsplit=1)[0]!r}: expected a metric name or a label set"
        )
        raise NotationError(msg)
    return labels, pos


def parse_metric(text: str) -> dict[str, str]:
    """A label set written ``name{a="b"}``, ``{__name__="name"}``, ``{}`` or ``""``."""
    labels, pos = _metric(text)
    if text[pos:].strip():
        msg = f"unexpected {text[pos:].strip()!r} after the label set"
        raise NotationError(msg)
    return labels


def parse_series(series: str, values: str) -> tuple[dict[str, str], list[float | None]]:
    """An ``input_series`` entry: its labels and its values (``None``: omitted)."""
    labels, pos = _metric(series)
    rest = series[pos:]
    if not labels and not rest.strip():
        msg = "unexpected end of input: expected a metric name or a label set"
        raise NotationError(msg)
    return labels, parse_values(rest + " " + values)
