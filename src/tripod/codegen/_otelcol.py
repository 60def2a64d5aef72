"""The OpenTelemetry Collector config: the scale-out path from tripod's SDK to existing engines.

OTLP in (gRPC 4317, HTTP 4318); ``memory_limiter`` first and ``batch`` last in every pipeline;
optional tail sampling that keeps every error and every slow trace plus a share of the rest;
metrics to Prometheus remote write, traces to Tempo over OTLP, logs to Loki's OTLP endpoint.
Components are those of the Collector's *contrib* distribution.
"""

from __future__ import annotations

from typing import Any

from tripod.codegen._model import Service

#: The contrib distribution these component names and fields are written for.
COLLECTOR_IMAGE = "otel/opentelemetry-collector-contrib:0.115.1"


def collector_config(svc: Service) -> dict[str, Any]:
    c = svc.otelcol
    processors: dict[str, Any] = {
        "memory_limiter": {
            "check_interval": "1s",
            "limit_percentage": 80,
            "spike_limit_percentage": 25,
        },
        "batch": {"send_batch_size": 8192, "timeout": "5s"},
        "resource/service": {
            "attributes": [{"key": "team", "value": svc.team, "action": "upsert"}]
        },
    }
    trace_processors = ["memory_limiter", "resource/service"]
    if c.tail_sampling:
        processors["tail_sampling"] = {
            "decision_wait": "10s",
            "num_traces": 50000,
            "policies": [
                {
                    "name": "errors",
                    "type": "status_code",
                    "status_code": {"status_codes": ["ERROR"]},
                },
                {"name": "slow", "type": "latency", "latency": {"threshold_ms": c.slow_ms}},
                {
                    "name": "sample-the-rest",
                    "type": "probabilistic",
                    "probabilistic": {"sampling_percentage": 10},
                },
            ],
        }
        trace_processors.append("tail_sampling")
    return {
        "extensions": {"health_check": {"endpoint": "0.0.0.0:13133"}},
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": "0.0.0.0:4317"},
                    "http": {"endpoint": "0.0.0.0:4318"},
                }
            }
        },
        "processors": processors,
        "exporters": {
            "prometheusremotewrite": {
                "endpoint": c.remote_write_url,
                "resource_to_telemetry_conversion": {"enabled": True},
            },
            "otlp/tempo": {"endpoint": c.tempo_endpoint, "tls": {"insecure": True}},
            "otlphttp/loki": {"endpoint": c.loki_endpoint},
        },
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": [*trace_processors, "batch"],
                    "exporters": ["otlp/tempo"],
                },
                "metrics": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "resource/service", "batch"],
                    "exporters": ["prometheusremotewrite"],
                },
                "logs": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "resource/service", "batch"],
                    "exporters": ["otlphttp/loki"],
                },
            },
        },
    }
