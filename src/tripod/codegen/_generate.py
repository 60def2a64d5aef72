"""From a service description to files: render per target, write, or compare (``--check``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from tripod.codegen._alertmanager import alertmanager_config
from tripod.codegen._compose import TEMPO_CONFIG, compose_file, tempo_config
from tripod.codegen._errors import GenerateError
from tripod.codegen._grafana import grafana_files
from tripod.codegen._k8s import k8s_documents
from tripod.codegen._model import Service
from tripod.codegen._otelcol import collector_config
from tripod.codegen._prometheus import all_alerts, prometheus_files
from tripod.codegen._runbooks import runbook_files
from tripod.codegen._yamlio import dump, dump_all


def _yaml_files(svc: Service, files: Mapping[str, Any]) -> dict[str, bytes]:
    return {path: dump(data, svc.source) for path, data in files.items()}


def _prometheus(svc: Service) -> dict[str, bytes]:
    return _yaml_files(svc, prometheus_files(svc))


def _alertmanager(svc: Service) -> dict[str, bytes]:
    return _yaml_files(svc, {"alertmanager/alertmanager.yml": alertmanager_config(svc)})


def _grafana(svc: Service) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for path, data in grafana_files(svc).items():
        if path.endswith(".json"):
            # JSON has no comments: the dashboard's description says it is generated.
            out[path] = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
        else:
            out[path] = dump(data, svc.source)
    return out


def _otelcol(svc: Service) -> dict[str, bytes]:
    return _yaml_files(svc, {"otelcol/config.yml": collector_config(svc)})


def _compose(svc: Service) -> dict[str, bytes]:
    return _yaml_files(svc, {"docker-compose.yml": compose_file(svc), TEMPO_CONFIG: tempo_config()})


def _k8s(svc: Service) -> dict[str, bytes]:
    return {path: dump_all(docs, svc.source) for path, docs in k8s_documents(svc).items()}


def _runbooks(svc: Service) -> dict[str, bytes]:
    return {path: text.encode() for path, text in runbook_files(svc, all_alerts(svc)).items()}


TARGETS: dict[str, Callable[[Service], dict[str, bytes]]] = {
    "prometheus": _prometheus,
    "alertmanager": _alertmanager,
    "grafana": _grafana,
    "otelcol": _otelcol,
    "compose": _compose,
    "k8s": _k8s,
    "runbooks": _runbooks,
}


def parse_targets(raw: str | None) -> tuple[str, ...]:
    """``prometheus,grafana`` -> the targets, checked; ``None`` -> all of them."""
    if raw is None:
        return tuple(TARGETS)
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    for name in names:
        if name not in TARGETS:
            msg = f"--target = {name!r}: expected a comma-separated list of {', '.join(TARGETS)}"
            raise GenerateError(msg)
    if not names:
        msg = f"--target = {raw!r}: expected a comma-separated list of {', '.join(TARGETS)}"
        raise GenerateError(msg)
    return names


def render(svc: Service, targets: Iterable[str] | None = None) -> dict[str, bytes]:
    """Relative path -> bytes of every file of ``targets`` (default all), sorted by path."""
    files: dict[str, bytes] = {}
    for name in targets or TARGETS:
        files.update(TARGETS[name](svc))
    return dict(sorted(files.items()))


def write(files: Mapping[str, bytes], out: Path) -> list[str]:
    """Write ``files`` under ``out``; returns the paths whose bytes changed."""
    changed = []
    for rel, data in files.items():
        path = out / rel
        if path.is_file() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        changed.append(rel)
    return changed


def differences(files: Mapping[str, bytes], out: Path) -> list[str]:
    """Paths under ``out`` that are missing or differ from ``files``."""
    return [
        rel
        for rel, data in files.items()
        if not (out / rel).is_file() or (out / rel).read_bytes() != data
    ]
