"""Summarise a conformance run's outcomes (written with ``TRIPOD_CONFORMANCE_REPORT=PATH``).

``python -m tests.conformance.report PATH`` prints the pass rate and a Markdown table of every
case that differs from Prometheus, with its first difference and its recorded xfail reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summarise(outcomes: dict[str, dict[str, object]]) -> str:
    total = len(outcomes)
    failing = {k: v for k, v in sorted(outcomes.items()) if not v["equal"]}
    equal = total - len(failing)
    rate = 100.0 * equal / total if total else 0.0
    lines = [f"**{equal} / {total} cases equal to Prometheus 2.42 ({rate:.1f}%).**", ""]
    by_section: dict[str, list[int]] = {}
    for o in outcomes.values():
        counts = by_section.setdefault(str(o["section"]), [0, 0])
        counts[0] += bool(o["equal"])
        counts[1] += 1
    lines += ["| section | equal | cases |", "|---|---|---|"]
    lines += [f"| {s} | {c[0]} | {c[1]} |" for s, c in sorted(by_section.items())]
    if failing:
        lines += ["", "| case | query | first difference | reason (xfail) |", "|---|---|---|---|"]
        for case_id, o in failing.items():
            diffs = o["diff"] if isinstance(o["diff"], list) else []
            first = str(diffs[0]).splitlines() if diffs else [""]
            label = first[0].split(": ", 1)[0]
            where = f"{label}: {first[2].strip()}" if len(first) > 2 else first[0]
            query = str(o["query"]).replace("|", "\\|")
            reason = str(o["xfail"] or "**not explained yet**").replace("|", "\\|")
            lines.append(f"| {case_id} | `{query}` | {where.replace('|', '/')[:160]} | {reason} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.conformance.report OUTCOMES.json", file=sys.stderr)
        return 2
    print(summarise(json.loads(Path(argv[0]).read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
