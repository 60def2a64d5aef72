"""One Markdown runbook per alert name, at the path its ``runbook_url`` points to."""

from __future__ import annotations

from collections.abc import Sequence

from tripod.codegen._alerts import Alert
from tripod.codegen._model import Service
from tripod.codegen._yamlio import header


def _header(svc: Service) -> str:
    text = " ".join(line.removeprefix("# ") for line in header(svc.source).splitlines())
    return f"<!-- {text} -->\n"


def _escalation(svc: Service, severity: str) -> str:
    names = [r.name for r in svc.receivers if severity in r.severities]
    where = ", ".join(f"`{n}`" for n in names) if names else "the default receiver"
    if severity == "critical":
        return (
            f"Pages team `{svc.team}` through {where}. If the on-call engineer cannot stop the "
            "impact within 30 minutes, escalate to the team lead and open an incident."
        )
    if severity == "warning":
        return (
            f"Notifies team `{svc.team}` through {where}; handle it within working hours. "
            "Escalate to a page if it turns critical."
        )
    return f"Informational, sent to {where}; no escalation."


def _page(svc: Service, variants: Sequence[Alert]) -> str:
    first = variants[0]
    lines = [
        _header(svc),
        f"# {first.name}",
        "",
        f"**Service:** `{svc.service}` · **Team:** `{svc.team}`",
        "",
        "| Severity | Fires when | For |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {a.severity} | `{a.expr.replace('|', '&#124;')}` | {a.for_ or 'at once'} |"
        for a in variants
    ]
    lines += ["", f"> {first.summary}", "", "## Meaning", "", first.meaning, ""]
    lines += ["## Impact", "", first.impact, "", "## First checks", ""]
    for what, query in first.checks:
        lines += [f"- {what}:", "", "  ```promql", f"  {query}", "  ```", ""]
    lines += ["## Likely causes", ""]
    lines += [f"- {c}" for c in first.causes]
    lines += ["", "## Mitigation", ""]
    lines += [f"{i}. {m}" for i, m in enumerate(first.mitigation, 1)]
    lines += ["", "## Escalation", ""]
    lines += [f"- **{a.severity}**: {_escalation(svc, a.severity)}" for a in variants]
    return "\n".join(lines) + "\n"


def runbook_files(svc: Service, alerts: Sequence[Alert]) -> dict[str, str]:
    """``runbooks/<AlertName>.md`` per alert name, and an index."""
    by_name: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_name.setdefault(alert.name, []).append(alert)
    files = {f"runbooks/{name}.md": _page(svc, variants) for name, variants in by_name.items()}
    index = [
        _header(svc),
        f"# Runbooks of {svc.service}",
        "",
    ]
    index += [f"- [{name}]({name}.md): {v[0].summary}" for name, v in sorted(by_name.items())]
    files["runbooks/README.md"] = "\n".join(index) + "\n"
    return dict(sorted(files.items()))
