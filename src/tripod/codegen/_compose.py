"""docker-compose.yml for the whole stack on one machine: the service, Prometheus,
Alertmanager, Grafana, the OpenTelemetry Collector, Tempo and Loki. Paths are relative to the
output folder, so ``docker compose -f deploy/docker-compose.yml up`` runs the generated files.
Ports are published on 127.0.0.1 only."""

from __future__ import annotations

from typing import Any

from tripod.codegen._grafana import DASHBOARD_DIR
from tripod.codegen._model import Service
from tripod.codegen._otelcol import COLLECTOR_IMAGE

#: Images pinned to the versions the generated files are checked against (Prometheus 2.42,
#: Alertmanager 0.25: Debian's, used by the tests) or written for (Grafana 11.6).
IMAGES = {
    "prometheus": "prom/prometheus:v2.42.0",
    "alertmanager": "prom/alertmanager:v0.25.0",
    "grafana": "grafana/grafana:11.6.0",
    "otelcol": COLLECTOR_IMAGE,
    "tempo": "grafana/tempo:2.6.1",
    "loki": "grafana/loki:3.3.2",
}
TEMPO_CONFIG = "tempo/tempo.yml"


def tempo_config() -> dict[str, Any]:
    """A single-binary Tempo keeping traces on local disk, receiving OTLP over gRPC."""
    return {
        "server": {"http_listen_port": 3200},
        "distributor": {
            "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}}}}
        },
        "storage": {
            "trace": {
                "backend": "local",
                "wal": {"path": "/var/tempo/wal"},
                "local": {"path": "/var/tempo/blocks"},
            }
        },
    }


def _port(target: str) -> str:
    return target.rpartition(":")[2] or "8000"


def compose_file(svc: Service) -> dict[str, Any]:
    app_port = _port(svc.targets[0])
    return {
        "name": f"{svc.service}-observability",
        "services": {
            svc.service: {
                "image": svc.image,
                "environment": {
                    "OTEL_SERVICE_NAME": svc.service,
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otelcol:4318",
                },
                "ports": [f"127.0.0.1:{app_port}:{app_port}"],
                "depends_on": ["otelcol"],
            },
            "prometheus": {
                "image": IMAGES["prometheus"],
                "command": [
                    "--config.file=/etc/prometheus/prometheus.yml",
                    "--storage.tsdb.path=/prometheus",
                    "--storage.tsdb.retention.time=15d",
                    "--web.enable-remote-write-receiver",
                ],
                "volumes": ["./prometheus:/etc/prometheus:ro", "prometheus-data:/prometheus"],
                "ports": ["127.0.0.1:9090:9090"],
            },
            "alertmanager": {
                "image": IMAGES["alertmanager"],
                "command": [
                    "--config.file=/etc/alertmanager/alertmanager.yml",
                    "--storage.path=/alertmanager",
                ],
                # Put the receivers' secret files under ./alertmanager/secrets/.
                "volumes": [
                    "./alertmanager:/etc/alertmanager:ro",
                    "alertmanager-data:/alertmanager",
                ],
                "ports": ["127.0.0.1:9093:9093"],
            },
            "grafana": {
                "image": IMAGES["grafana"],
                "volumes": [
                    "./grafana/provisioning:/etc/grafana/provisioning:ro",
                    f"./grafana/dashboards:{DASHBOARD_DIR}:ro",
                    "grafana-data:/var/lib/grafana",
                ],
                "ports": ["127.0.0.1:3000:3000"],
                "depends_on": ["prometheus", "tempo", "loki"],
            },
            "otelcol": {
                "image": IMAGES["otelcol"],
                "command": ["--config=/etc/otelcol/config.yml"],
                "volumes": ["./otelcol/config.yml:/etc/otelcol/config.yml:ro"],
                "ports": ["127.0.0.1:4317:4317", "127.0.0.1:4318:4318"],
                "depends_on": ["prometheus", "tempo", "loki"],
            },
            "tempo": {
                "image": IMAGES["tempo"],
                "command": ["-config.file=/etc/tempo/tempo.yml"],
                "volumes": [f"./{TEMPO_CONFIG}:/etc/tempo/tempo.yml:ro", "tempo-data:/var/tempo"],
                "ports": ["127.0.0.1:3200:3200"],
            },
            "loki": {
                "image": IMAGES["loki"],
                "command": ["-config.file=/etc/loki/local-config.yaml"],
                "volumes": ["loki-data:/loki"],
                "ports": ["127.0.0.1:3100:3100"],
            },
        },
        "volumes": {
            name: {}
            for name in (
                "prometheus-data",
                "alertmanager-data",
                "grafana-data",
                "tempo-data",
                "loki-data",
            )
        },
    }
