"""Go RE2 regexes as Python ``re`` patterns with the same meaning where the syntax overlaps.

Prometheus anchors matcher regexes as ``^(?:RE)$`` in RE2: ``.`` does not match a newline
unless ``(?s)`` is given, and a flag group such as ``(?i)`` applies from where it stands to the
end of the enclosing group. Python refuses flag groups anywhere but at the very start, so each
one becomes a scoped group (``a(?i)b|c`` → ``a(?i:b)|(?i:c)``), and the whole pattern is scoped
``(?-s:...)`` so a caller compiling with DOTALL still gets RE2's ``.``.
"""

from __future__ import annotations

import functools
import re

__all__ = ["go_regex"]

_FLAGS = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?\)")


def _scope_flags(pattern: str) -> str:
    out: list[str] = []
    open_scopes = [0]  # per group nesting level: scoped flag groups opened and not yet closed
    flags_at_level: list[list[str]] = [[]]
    i = 0
    in_class = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            out.append(ch)
            in_class = ch != "]"
            i += 1
            continue
        if ch == "[":
            out.append(ch)
            i += 1
            in_class = True
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):
                out.append("]")
                i += 1
            continue
        found = _FLAGS.match(pattern, i)
        if found and "U" not in found.group(0):
            on, off = found.group(1) or "", found.group(2) or ""
            spec = on + (f"-{off}" if off else "")
            if spec:
                out.append(f"(?{spec}:")
                open_scopes[-1] += 1
                flags_at_level[-1].append(spec)
            i = found.end()
            continue
        if ch == "(":
            out.append(ch)
            open_scopes.append(0)
            flags_at_level.append([])
            i += 1
            continue
        if ch == ")" and len(open_scopes) > 1:
            out.append(")" * open_scopes.pop())
            flags_at_level.pop()
            out.append(")")
            i += 1
            continue
        if ch == "|" and open_scopes[-1]:
            # The flags hold for the rest of the group, so for the next alternative too.
            out.append(")" * open_scopes[-1] + "|")
            out.extend(f"(?{spec}:" for spec in flags_at_level[-1])
            i += 1
            continue
        out.append(ch)
        i += 1
    out.append(")" * open_scopes[0])
    return "".join(out)


@functools.lru_cache(maxsize=1024)  # pure; a rule's selectors come back at every evaluation
def go_regex(pattern: str) -> str:
    """A Python pattern equivalent to the RE2 ``pattern`` (unanchored, meant for fullmatch)."""
    return f"(?-s:{_scope_flags(pattern)})"
