"""prometheus.yml, the rule files and their promtool unit tests."""

from __future__ import annotations

from typing import Any

from tripod.codegen._alerts import Alert, promtool_tests
from tripod.codegen._model import Service
from tripod.codegen._red import recording_group, red_alerts
from tripod.codegen._slo import all_slo_alerts, slo_rule_file

# Paths inside the output folder; rule_files and test files refer to each other relatively.
CONFIG = "prometheus/prometheus.yml"
KUBERNETES_CONFIG = "prometheus/prometheus-kubernetes.yml"


def rules_path(svc: Service) -> str:
    return f"prometheus/rules/{svc.service}.rules.yml"


def slo_rules_path(svc: Service) -> str:
    return f"prometheus/rules/{svc.service}-slo.rules.yml"


def unit_tests_path(svc: Service) -> str:
    return f"prometheus/tests/{svc.service}.test.yml"


def slo_unit_tests_path(svc: Service) -> str:
    return f"prometheus/tests/{svc.service}-slo.test.yml"


def _relative(path: str) -> str:
    return path.removeprefix("prometheus/")


def _kubernetes_job(svc: Service) -> dict[str, Any]:
    """Pods in the service's namespace that carry the ``prometheus.io/*`` annotations."""
    ann = "__meta_kubernetes_pod_annotation_prometheus_io_"
    return {
        "job_name": f"{svc.job}-kubernetes-pods",
        "scrape_interval": svc.scrape_interval,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [svc.namespace]}}],
        "relabel_configs": [
            {"source_labels": [f"{ann}scrape"], "action": "keep", "regex": "true"},
            {
                "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
                "action": "keep",
                "regex": svc.service,
            },
            {
                "source_labels": [f"{ann}scheme"],
                "action": "replace",
                "regex": "(https?)",
                "target_label": "__scheme__",
            },
            {
                "source_labels": [f"{ann}path"],
                "action": "replace",
                "regex": "(.+)",
                "target_label": "__metrics_path__",
            },
            {
                "source_labels": ["__address__", f"{ann}port"],
                "action": "replace",
                "regex": r"([^:]+)(?::\d+)?;(\d+)",
                "replacement": "$1:$2",
                "target_label": "__address__",
            },
            {"target_label": "job", "replacement": svc.job},
            {
                "source_labels": ["__meta_kubernetes_namespace"],
                "target_label": "namespace",
            },
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ],
    }


def prometheus_config(svc: Service, *, kubernetes: bool = False) -> dict[str, Any]:
    """prometheus.yml: the service by static targets, or in a cluster (``kubernetes``) by pod
    discovery with the ``prometheus.io/*`` annotations."""
    scrape: list[dict[str, Any]] = [
        {"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]},
    ]
    if kubernetes:
        scrape.append(_kubernetes_job(svc))
    else:
        scrape.append(
            {
                "job_name": svc.job,
                "scrape_interval": svc.scrape_interval,
                "metrics_path": svc.metrics_path,
                "static_configs": [{"targets": list(svc.targets)}],
            }
        )
    scrape += [
        {
            "job_name": job.job,
            "scheme": job.scheme,
            "metrics_path": job.metrics_path,
            "static_configs": [{"targets": list(job.targets)}],
        }
        for job in svc.scrape_jobs
    ]
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": svc.scrape_interval,
            "evaluation_interval": svc.evaluation_interval,
        },
        "rule_files": [_relative(rules_path(svc)), _relative(slo_rules_path(svc))],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": list(svc.alertmanagers)}]}]},
        "scrape_configs": scrape,
    }
    if svc.remote_write:
        # Scraped and recorded series also go to a long-term engine (Mimir, VictoriaMetrics).
        config["remote_write"] = [{"url": url} for url in svc.remote_write]
    return config


def red_rule_file(svc: Service, alerts: list[Alert]) -> dict[str, Any]:
    return {
        "groups": [
            recording_group(svc),
            {"name": f"{svc.service}-alerts", "rules": [a.rule(svc) for a in alerts]},
        ]
    }


def prometheus_files(svc: Service) -> dict[str, Any]:
    """Output path -> YAML data for everything Prometheus and promtool read."""
    red = red_alerts(svc)
    slo = all_slo_alerts(svc)
    both = [f"../rules/{svc.service}.rules.yml", f"../rules/{svc.service}-slo.rules.yml"]
    red_file = red_rule_file(svc, red)
    slo_file = slo_rule_file(svc)
    order = [g["name"] for g in (*red_file["groups"], *slo_file["groups"])]
    return {
        CONFIG: prometheus_config(svc),
        KUBERNETES_CONFIG: prometheus_config(svc, kubernetes=True),
        rules_path(svc): red_file,
        slo_rules_path(svc): slo_file,
        unit_tests_path(svc): promtool_tests(red, both, order, svc),
        slo_unit_tests_path(svc): promtool_tests(slo, both, order, svc),
    }


def all_alerts(svc: Service) -> list[Alert]:
    return [*red_alerts(svc), *all_slo_alerts(svc)]
