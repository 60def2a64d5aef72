r"""Go's regexp for `reReplaceAll` and `match`: RE2 patterns on Python's re, Go's replacement rules.

Patterns are translated where the two engines spell the same thing differently (`$` is the end
of the text unless (?m), `\z`); syntax with no faithful translation (`\Q..\E`, `\p{..}`,
`[[:alpha:]]`, `(?U)`) is refused with an error rather than matched differently.
"""

from __future__ import annotations

import functools
import re

from tripod.server.rules._template_fmt import go_quote
from tripod.server.rules._template_types import CallError

__all__ = ["match", "re_replace_all"]


@functools.lru_cache(maxsize=256)
def _go_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Go RE2 pattern with Python's re, refusing the syntax the two spell differently."""
    if re.search(r"\\[Z1-9]|\(\?[=!<#]|\(\?P=", pattern.replace("\\\\", "")):
        msg = f"regexp {pattern!r}: lookaround, backreferences and \\Z are not RE2 syntax"
        raise CallError(msg)
    if re.search(r"\\[QpPC]|\[\[:|\(\?[a-zA-Z]*U", pattern.replace("\\\\", "")):
        msg = f"regexp {pattern!r} uses syntax tripod does not translate (\\Q, \\p, [[:, (?U))"
        raise CallError(msg)
    multiline = re.search(r"\(\?[a-zA-Z]*m", pattern) is not None
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append("\\Z" if pattern[i + 1 : i + 2] == "z" else pattern[i : i + 2])
            i += 2
            continue
        if in_class and c == "]":
            in_class = False
        elif not in_class and c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]" or pattern[i + 1 : i + 3] == "^]":
                out.append(pattern[i : i + (2 if pattern[i + 1] == "]" else 3)])
                i += 2 if pattern[i + 1] == "]" else 3
                continue
        elif not in_class and c == "$" and not multiline:
            out.append(r"\Z")
            i += 1
            continue
        out.append(c)
        i += 1
    try:
        return re.compile("".join(out), re.ASCII)
    except re.error as exc:
        raise CallError(_compile_error(pattern, exc)) from None


def _compile_error(pattern: str, exc: re.error) -> str:
    """regexp.Compile's error, with Go's wording for the common syntax errors."""
    pos = exc.pos or 0
    if exc.msg.startswith("missing ), unterminated subpattern"):
        why = f"missing closing ): `{pattern}`"
    elif exc.msg.startswith("unbalanced parenthesis"):
        why = f"unexpected ): `{pattern}`"
    elif exc.msg.startswith("unterminated character set"):
        why = f"missing closing ]: `{pattern[pos:]}`"
    elif exc.msg.startswith("nothing to repeat"):
        why = f"missing argument to repetition operator: `{pattern[pos : pos + 1]}`"
    else:
        why = exc.msg
    return f"error parsing regexp: {why}"


def _expand(repl: str, m: re.Match[str]) -> str:
    """Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$; an unknown group is empty."""
    out, i = [], 0
    while i < len(repl):
        c = repl[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        if repl.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        if repl.startswith("${", i):
            end = repl.find("}", i)
            name = repl[i + 2 : end] if end > 0 else ""
            ok = bool(re.fullmatch(r"[A-Za-z0-9_]+", name))
            nxt = end + 1
        else:
            nm = re.match(r"[A-Za-z0-9_]+", repl[i + 1 :])
            name = nm.group() if nm else ""
            ok, nxt = bool(nm), i + 1 + len(name)
        if not ok:
            out.append("$")
            i += 1
            continue
        group: str | None = None
        if name.isdigit():
            if int(name) <= (m.re.groups):
                group = m.group(int(name))
        elif name in m.re.groupindex:
            group = m.group(name)
        out.append(group or "")
        i = nxt
    return "".join(out)


def re_replace_all(pattern: str, repl: str, text: str) -> str:
    """Go's Regexp.ReplaceAllString, including its rule for empty matches after a match."""
    try:
        rx = _go_regex(pattern)
    except CallError as exc:  # MustCompile panics; text/template reports the panic's text
        quoted = (
            f"`{pattern}`" if "`" not in pattern and pattern.isprintable() else go_quote(pattern)
        )
        msg = f"regexp: Compile({quoted}): {exc}"
        raise CallError(msg) from None
    out: list[str] = []
    last = search = 0
    while search <= len(text):
        m = rx.search(text, search)
        if m is None:
            break
        start, end = m.span()
        out.append(text[last:start])
        if end > last or start == 0:
            out.append(_expand(repl, m))
        last = end
        search = search + 1 if search + 1 > end else end
    out.append(text[last:])
    return "".join(out)


def match(pattern: str, text: str) -> bool:
    return _go_regex(pattern).search(text) is not None
