"""The lexer of the Go text/template subset: text, and actions as token lists.

Trim markers (`{{- ` and ` -}}`) and comments (`{{/* */}}`, allowed only right after the
delimiter, as in Go) are applied here, so the parser sees neither.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from tripod.server.rules._template_types import TemplateError

__all__ = ["Lexer", "Tok", "unquote"]

_SPACE = " \t\r\n"
_ALNUM = re.compile(r"[A-Za-z0-9_\u0080-\U0010ffff]*")
_NUMBER = re.compile(
    r"[+-]?(0[xX][0-9a-fA-F_]*(\.[0-9a-fA-F_]*)?([pP][+-]?[0-9_]+)?|0[bB][01_]*|0[oO][0-7_]*"
    r"|[0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9_]+)?)"
)
_CHAR = re.compile(r"'(?:[^'\\\n]|\\.[^'\n]*?)'")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPES.update({"\\": "\\", '"': '"', "'": "'"})


@dataclasses.dataclass(frozen=True)
class Tok:
    kind: str  # ident field var dot str raw num char bool nil ( ) | := = , space end
    text: str
    pos: int


def unquote(text: str, fail: Callable[[str], TemplateError]) -> str:
    """Go's strconv.Unquote for "..." and '...' literals."""
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1 : i + 2]
        if (
            e in _ESCAPES
            and not (e == "'" and text[0] == '"')
            and not (e == '"' and text[0] == "'")
        ):
            out.append(_ESCAPES[e])
            i += 2
        elif e in ("x", "u", "U"):
            n = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 2 : i + 2 + n]
            if len(digits) != n or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise fail(f"invalid syntax in {text}")
            out.append(chr(int(digits, 16)))
            i += 2 + n
        elif e in "01234567" and e:
            digits = body[i + 1 : i + 4]
            if not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
                raise fail(f"invalid syntax in {text}")
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise fail(f"invalid syntax in {text}")
    return "".join(out)


class Lexer:
    """Go's text/template lexer: text, and each action as a list of tokens."""

    def __init__(self, src: str, fail: Callable[[str, int], TemplateError]) -> None:
        self.src = src
        self.fail = fail

    def items(self) -> list[str | list[Tok]]:
        """Split the source into text and action token lists, applying trim markers."""
        src, i = self.src, 0
        items: list[str | list[Tok]] = []
        while i < len(src):
            start = src.find("{{", i)
            if start < 0:
                items.append(src[i:])
                break
            text = src[i:start]
            j = start + 2
            if src.startswith("-", j) and src[j + 1 : j + 2] in tuple(_SPACE):
                text = text.rstrip(_SPACE)
                j += 2
            if text:
                items.append(text)
            if src.startswith("/*", j):
                end = src.find("*/", j + 2)
                if end < 0:
                    raise self.fail("unclosed comment", start)
                k = end + 2
                if src.startswith("}}", k):
                    i = k + 2
                elif src[k : k + 1] in tuple(_SPACE) and src.startswith("-}}", k + 1):
                    i = k + 4
                    while i < len(src) and src[i] in _SPACE:
                        i += 1
                else:
                    raise self.fail("comment ends before closing delimiter", start)
                continue
            toks, i = self._action(j, start)
            items.append(toks)
        return items

    def _terminated(self, i: int) -> int:
        """Go's atTerminator: a word, field or variable must end at a space or punctuation."""
        c = self.src[i : i + 1]
        if c and c not in _SPACE and c not in ".,|:)(}":
            raise self.fail(f"bad character U+{ord(c):04X} '{c}'", i)
        return i

    def _action(self, i: int, start: int) -> tuple[list[Tok], int]:
        src = self.src
        toks: list[Tok] = []
        while True:
            if i >= len(src):
                raise self.fail("unclosed action", start)
            c = src[i]
            if src.startswith("}}", i):
                return toks, i + 2
            if c in _SPACE:
                j = i
                while j < len(src) and src[j] in _SPACE:
                    j += 1
                if src.startswith("-}}", j):
                    k = j + 3
                    while k < len(src) and src[k] in _SPACE:
                        k += 1
                    return toks, k
                toks.append(Tok("space", src[i:j], i))
                i = j
                continue
            m: re.Match[str] | None = None
            if c == '"':
                m = _STRING.match(src, i)
                if not m:
                    raise self.fail("unterminated quoted string", i)
                toks.append(Tok("str", m.group(), i))
            elif c == "`":
                end = src.find("`", i + 1)
                if end < 0:
                    raise self.fail("unterminated raw quoted string", i)
                toks.append(Tok("raw", src[i : end + 1], i))
                i = end + 1
                continue
            elif c == "'":
                m = _CHAR.match(src, i)
                if not m:
                    raise self.fail("unterminated character constant", i)
                toks.append(Tok("char", m.group(), i))
            elif c == "$":
                m = _ALNUM.match(src, i + 1)
                assert m is not None
                toks.append(Tok("var", "$" + m.group(), i))
                i = self._terminated(m.end())
                continue
            elif c == "." and not src[i + 1 : i + 2].isdigit():
                m = _ALNUM.match(src, i + 1)
                assert m is not None
                toks.append(Tok("field" if m.group() else "dot", "." + m.group(), i))
                i = self._terminated(m.end())
                continue
            elif c.isdigit() or (c in "+-." and src[i + 1 : i + 2].isdigit()):
                m = _NUMBER.match(src, i)
                assert m is not None
                end = m.end()
                if end < len(src) and (src[end].isalnum() or src[end] in "._"):
                    raise self.fail(f"bad number syntax: {src[i : end + 1]!r}", i)
                toks.append(Tok("num", m.group(), i))
            elif c.isalpha() or c == "_":
                m = _ALNUM.match(src, i)
                assert m is not None
                word = m.group()
                kind = {"true": "bool", "false": "bool", "nil": "nil"}.get(word, "ident")
                toks.append(Tok(kind, word, i))
                i = self._terminated(m.end())
                continue
            elif src.startswith(":=", i):
                toks.append(Tok(":=", ":=", i))
                i += 2
                continue
            elif c in "()|=,":
                toks.append(Tok(c, c, i))
            else:
                raise self.fail(f"unexpected {c!r} in command", i)
            i = m.end() if m else i + 1
