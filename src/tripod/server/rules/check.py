"""``tripod rules check FILE...``: validate rule files offline, as ``promtool check rules``.

Per file: ``Checking FILE`` then ``  SUCCESS: N rules found`` or ``  FAILED:`` and one
``file:line:column: reason`` line per problem. The ``duplicate-rules`` lint (two rules with the
same name and labels) is reported but, as in promtool, fails the run only with ``--lint-fatal``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from tripod.server.rules.rulefile import GroupSpec, TemplateCheck, parse_rule_file

__all__ = ["check_rule_files", "duplicate_rules"]


def duplicate_rules(groups: Sequence[GroupSpec]) -> list[tuple[str, dict[str, str]]]:
    """Rules of a file sharing name and labels, each reported once (promtool's lint)."""
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    for group in groups:
        for rule in group.rules:
            key = (rule.name, tuple(sorted(rule.labels.items())))
            seen[key] = seen.get(key, 0) + 1
    return [(name, dict(labels)) for (name, labels), n in sorted(seen.items()) if n > 1]


def check_rule_files(
    paths: Sequence[str],
    out: TextIO,
    err: TextIO,
    *,
    lint_duplicates: bool = True,
    lint_fatal: bool = False,
    template_check: TemplateCheck | None = None,
) -> int:
    """Check each file, print promtool-style results; 0 when all are valid, 1 otherwise."""
    failed = False
    lint_failed = False
    for path in paths:
        print(f"Checking {path}", file=out)
        groups, problems = parse_rule_file(path, template_check)
        if problems:
            failed = True
            print("  FAILED:", file=err)
            for problem in problems:
                print(str(problem), file=err)
        else:
            dups = duplicate_rules(groups) if lint_duplicates else []
            if dups:
                lint_failed = True
                print("  FAILED:", file=err)
                for name, labels in dups:
                    shown = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                    print(
                        f"{path}: lint: duplicate rule {name}{{{shown}}}: "
                        "might cause inconsistency while recording expressions",
                        file=err,
                    )
            else:
                count = sum(len(g.rules) for g in groups)
                print(f"  SUCCESS: {count} rules found", file=out)
        print(file=out)
    return 1 if failed or (lint_failed and lint_fatal) else 0
