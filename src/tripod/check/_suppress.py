"""``# tripod: ignore[RULE, RULE]`` (this line or the line above) and
``# tripod: ignore-file[RULE]`` anywhere in the file. The same text works in YAML comments and,
for JSON dashboards that have no comments, inside a string (a panel's description)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from tripod.check._model import Finding

_MARK = re.compile(r"tripod:\s*ignore(-file)?\[([^\]]*)\]")


class Suppressions:
    def __init__(self, text: str) -> None:
        self.lines: dict[int, set[str]] = {}
        self.file: set[str] = set()
        if "tripod:" not in text:
            return
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _MARK.finditer(line):
                rules = {r.strip() for r in match.group(2).split(",") if r.strip()}
                if match.group(1):
                    self.file |= rules
                else:
                    self.lines.setdefault(number, set()).update(rules)

    def hides(self, finding: Finding) -> bool:
        rule = finding.rule
        if rule in self.file or "*" in self.file:
            return True
        for number in (finding.line, finding.line - 1):
            rules = self.lines.get(number)
            if rules and (rule in rules or "*" in rules):
                return True
        return False

    def unknown(self, known: Iterable[str]) -> set[str]:
        every = set(self.file).union(*self.lines.values()) if self.lines else set(self.file)
        return every - set(known) - {"*"}
