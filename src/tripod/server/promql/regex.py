"""Go RE2 regexes as Python ``re`` patterns with the same meaning where the syntax overlaps.

Prometheus anchors matcher regexes as ``^(?:RE)$`` in RE2: ``.`` does not match a newline
unless ``(?s)`` is given, and flags may open the pattern (``(?i)foo``). Python refuses a global
flag group inside ``(?:...)``, so a leading flag group becomes a scoped one (``(?i:foo)``), and
the whole pattern is scoped ``(?-s:...)`` so a caller compiling with DOTALL still gets RE2's
``.``.
"""

from __future__ import annotations

import re

__all__ = ["go_regex"]

_LEADING_FLAGS = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?\)", re.DOTALL)


def go_regex(pattern: str) -> str:
    """A Python pattern equivalent to the RE2 ``pattern`` (unanchored, meant for fullmatch)."""
    found = _LEADING_FLAGS.match(pattern)
    body = pattern
    if found and "U" not in found.group(0):
        on, off = found.group(1) or "", found.group(2) or ""
        rest = pattern[found.end() :]
        flags = on + (f"-{off}" if off else "")
        body = f"(?{flags}:{rest})" if flags else rest
    return f"(?-s:{body})"
