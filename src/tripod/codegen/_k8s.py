"""Kubernetes manifests: Prometheus with the generated rules in its own namespace (RBAC for pod
discovery, a PVC, resource limits, probes), and for Prometheus Operator users a ServiceMonitor
and a PrometheusRule carrying the same rule groups."""

from __future__ import annotations

from typing import Any

from tripod.codegen._compose import IMAGES
from tripod.codegen._model import Service
from tripod.codegen._prometheus import (
    KUBERNETES_CONFIG,
    prometheus_files,
    rules_path,
    slo_rules_path,
)
from tripod.codegen._yamlio import dump

NAMESPACE = "monitoring"
_APP = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/part-of": "tripod"}


def _meta(name: str, namespace: str | None = NAMESPACE, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = {**_APP, **labels}
    return meta


def _rbac() -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("prometheus")},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _meta("tripod-prometheus", None),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["nodes", "nodes/metrics", "services", "endpoints", "pods"],
                    "verbs": ["get", "list", "watch"],
                },
                {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta("tripod-prometheus", None),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "tripod-prometheus",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": NAMESPACE}],
        },
    ]


def _config_maps(svc: Service) -> list[dict[str, Any]]:
    files = prometheus_files(svc)

    def text(rel: str) -> str:
        return dump(files[rel], svc.source).decode()

    rules = {rel.rpartition("/")[2]: text(rel) for rel in (rules_path(svc), slo_rules_path(svc))}
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("prometheus-config"),
            "data": {"prometheus.yml": text(KUBERNETES_CONFIG)},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("prometheus-rules"),
            "data": rules,
        },
    ]


def _probe(path: str) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "web"}, "periodSeconds": 10}


def _server() -> list[dict[str, Any]]:
    selector = {"app.kubernetes.io/name": "prometheus"}
    container = {
        "name": "prometheus",
        "image": IMAGES["prometheus"],
        "args": [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=15d",
            "--storage.tsdb.retention.size=18GB",
            "--web.enable-lifecycle",
        ],
        "ports": [{"name": "web", "containerPort": 9090}],
        "readinessProbe": _probe("/-/ready"),
        "livenessProbe": _probe("/-/healthy"),
        "resources": {
            "requests": {"cpu": "250m", "memory": "1Gi"},
            "limits": {"cpu": "1", "memory": "2Gi"},
        },
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/prometheus"},
            {"name": "rules", "mountPath": "/etc/prometheus/rules"},
            {"name": "data", "mountPath": "/prometheus"},
        ],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": _meta("prometheus-data"),
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "20Gi"}},
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta("prometheus"),
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},  # one writer on a ReadWriteOnce volume
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": {**_APP}},
                    "spec": {
                        "serviceAccountName": "prometheus",
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 65534,
                            "fsGroup": 65534,
                        },
                        "containers": [container],
                        "volumes": [
                            {"name": "config", "configMap": {"name": "prometheus-config"}},
                            {"name": "rules", "configMap": {"name": "prometheus-rules"}},
                            {
                                "name": "data",
                                "persistentVolumeClaim": {"claimName": "prometheus-data"},
                            },
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta("prometheus"),
            "spec": {
                "selector": selector,
                "ports": [{"name": "web", "port": 9090, "targetPort": "web"}],
            },
        },
    ]


def _operator(svc: Service) -> list[dict[str, Any]]:
    files = prometheus_files(svc)
    groups = [*files[rules_path(svc)]["groups"], *files[slo_rules_path(svc)]["groups"]]
    labels = {"app.kubernetes.io/name": svc.service, "team": svc.team}
    return [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": svc.service, "namespace": svc.namespace, "labels": labels},
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": svc.service}},
                "endpoints": [
                    {
                        "port": "http",
                        "path": svc.metrics_path,
                        "interval": svc.scrape_interval,
                        # The rules select on the service's job, whatever the Service is called.
                        "relabelings": [
                            {"action": "replace", "targetLabel": "job", "replacement": svc.job}
                        ],
                    }
                ],
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": svc.service, "namespace": svc.namespace, "labels": labels},
            "spec": {"groups": groups},
        },
    ]


def k8s_documents(svc: Service) -> dict[str, list[dict[str, Any]]]:
    """Output path -> the documents of that multi-document YAML file."""
    return {
        "k8s/00-namespace.yml": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(NAMESPACE, None)}
        ],
        "k8s/10-prometheus-rbac.yml": _rbac(),
        "k8s/20-prometheus-config.yml": _config_maps(svc),
        "k8s/30-prometheus.yml": _server(),
        "k8s/40-operator.yml": _operator(svc),
    }
