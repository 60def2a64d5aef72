"""The output formats: text, GitHub workflow commands, SARIF 2.1.0, JSON and checkstyle XML."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from xml.sax.saxutils import quoteattr

from tripod import __version__
from tripod.check._model import RULES, Finding, Severity

_GITHUB_LEVEL = {
    Severity.INFO: "notice",
    Severity.WARNING: "warning",
    Severity.BUG: "error",
    Severity.FATAL: "error",
}
_SARIF_LEVEL = {
    Severity.INFO: "note",
    Severity.WARNING: "warning",
    Severity.BUG: "error",
    Severity.FATAL: "error",
}
_CHECKSTYLE_LEVEL = {
    Severity.INFO: "info",
    Severity.WARNING: "warning",
    Severity.BUG: "error",
    Severity.FATAL: "error",
}


def text(findings: Sequence[Finding]) -> str:
    lines = [
        f"{f.path}:{f.line}:{f.col}: {f.severity.label} [{f.rule}] {f.message} (hint: {f.hint})"
        for f in findings
    ]
    lines.append(f"{len(findings)} finding{'s' if len(findings) != 1 else ''}")
    return "\n".join(lines)


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(findings: Sequence[Finding]) -> str:
    return "\n".join(
        f"::{_GITHUB_LEVEL[f.severity]} file={_escape_prop(f.path)},line={f.line},col={f.col},"
        f"title={_escape_prop(f.rule)}::{_escape_data(f'{f.message} (hint: {f.hint})')}"
        for f in findings
    )


def as_json(findings: Sequence[Finding]) -> str:
    return json.dumps([f.as_dict() for f in findings], indent=2)


def sarif(findings: Sequence[Finding]) -> str:
    used = sorted({f.rule for f in findings})
    index = {rid: i for i, rid in enumerate(used)}
    rules = [
        {
            "id": rid,
            "name": rid,
            "shortDescription": {"text": RULES[rid].summary},
            "help": {"text": RULES[rid].hint},
            "defaultConfiguration": {"level": _SARIF_LEVEL[RULES[rid].severity]},
        }
        for rid in used
    ]
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.message} (hint: {f.hint})"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path.replace("\\", "/")},
                        "region": {"startLine": max(f.line, 1), "startColumn": max(f.col, 1)},
                    }
                }
            ],
            "properties": {"severity": f.severity.label},
        }
        for f in findings
    ]
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tripod check",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2)


def checkstyle(findings: Sequence[Finding]) -> str:
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.path, []).append(f)
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<checkstyle version="4.3">']
    for path, items in by_file.items():
        out.append(f"  <file name={quoteattr(path)}>")
        out.extend(
            f'    <error line="{f.line}" column="{f.col}" severity='
            f'"{_CHECKSTYLE_LEVEL[f.severity]}" '
            f"message={quoteattr(f'{f.message} (hint: {f.hint})')}"
            f" source={quoteattr('tripod.check.' + f.rule)}/>"
            for f in items
        )
        out.append("  </file>")
    out.append("</checkstyle>")
    return "\n".join(out)


FORMATS: dict[str, Callable[[Sequence[Finding]], str]] = {
    "text": text,
    "github": github,
    "sarif": sarif,
    "json": as_json,
    "checkstyle": checkstyle,
}
