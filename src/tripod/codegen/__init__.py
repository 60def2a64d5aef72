"""``tripod generate``: the production stack as code, from one service description.

A service description (``tripod.yaml`` or ``[tool.tripod.generate]`` in pyproject.toml) and the
metric catalog (:mod:`tripod.catalog`) become prometheus.yml, RED and SLO rules with promtool
unit tests, alertmanager.yml, a Grafana dashboard with provisioning files, and runbooks. Every
file is built from Python data (PyYAML, grafana-foundation-sdk), deterministic to the byte.
"""

from __future__ import annotations

from tripod.codegen._errors import GenerateError
from tripod.codegen._generate import differences, parse_targets, render, write
from tripod.codegen._load import find_description, load_service
from tripod.codegen._model import SLO, Service, parse_service

__all__ = [
    "SLO",
    "GenerateError",
    "Service",
    "differences",
    "find_description",
    "load_service",
    "parse_service",
    "parse_targets",
    "render",
    "write",
]
