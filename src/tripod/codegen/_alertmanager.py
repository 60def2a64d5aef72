"""alertmanager.yml: routing by team and severity, grouping, inhibition, receivers whose
secrets are read from files (``*_file`` fields) and never written inline."""

from __future__ import annotations

from typing import Any

from tripod.codegen._model import SEVERITIES, Receiver, Service

NULL_RECEIVER = "null"

_CONFIG_KEY = {
    "slack": "slack_configs",
    "pagerduty": "pagerduty_configs",
    "email": "email_configs",
    "webhook": "webhook_configs",
}


def _receiver(r: Receiver) -> dict[str, Any]:
    settings = dict(r.settings)
    settings.setdefault("send_resolved", r.kind != "email")
    if r.kind == "slack":
        settings.setdefault("title", '{{ template "slack.default.title" . }}')
        settings.setdefault(
            "text",
            "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n"
            "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}",
        )
    return {"name": r.name, _CONFIG_KEY[r.kind]: [dict(sorted(settings.items()))]}


def _severity_routes(svc: Service) -> list[dict[str, Any]]:
    routes: list[dict[str, Any]] = []
    for severity in SEVERITIES:
        targets = [r for r in svc.receivers if severity in r.severities]
        for i, r in enumerate(targets):
            route: dict[str, Any] = {"matchers": [f'severity="{severity}"'], "receiver": r.name}
            if severity == "critical":
                route["group_wait"] = "10s"
                route["repeat_interval"] = "1h"
            if i < len(targets) - 1:
                route["continue"] = True
            routes.append(route)
    return routes


def alertmanager_config(svc: Service) -> dict[str, Any]:
    # What no severity route claims goes to a receiver that does not page, or nowhere.
    calm = [r.name for r in svc.receivers if "critical" not in r.severities]
    default = calm[0] if calm else NULL_RECEIVER
    receivers = [_receiver(r) for r in svc.receivers]
    if default == NULL_RECEIVER:
        receivers.append({"name": NULL_RECEIVER})
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": default,
            "group_by": ["alertname", "service", "slo"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {
                    "matchers": [f'team="{svc.team}"', f'service="{svc.service}"'],
                    "receiver": default,
                    "routes": _severity_routes(svc),
                }
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["alertname", "service"],
            },
            {
                "source_matchers": ['severity=~"critical|warning"'],
                "target_matchers": ['severity="info"'],
                "equal": ["alertname", "service"],
            },
            {
                # A page for an SLO already says what its ticket would say.
                "source_matchers": ['burn_tier="page"'],
                "target_matchers": ['burn_tier="ticket"'],
                "equal": ["service", "slo"],
            },
            {
                # With no target up, the per-target and metric alerts add nothing.
                "source_matchers": [f'alertname="{svc.alert_prefix}Absent"'],
                "target_matchers": [
                    f'alertname=~"{svc.alert_prefix}(TargetDown|MetricsAbsent)"',
                ],
                "equal": ["service"],
            },
        ],
        "receivers": receivers,
    }
