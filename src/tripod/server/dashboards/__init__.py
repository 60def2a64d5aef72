"""Grafana dashboards for the web UI: ``tripod serve --dashboards DIR`` reads dashboard JSON
files (``tripod generate``'s, or Grafana exports) and serves them at ``/api/v1/ui/dashboards``
with a built-in RED dashboard made from the metric catalog. The UI renders them."""

from __future__ import annotations

from tripod.server.dashboards._builtin import BUILTIN_UID, builtin_dashboard
from tripod.server.dashboards._load import Entry, parse_dashboard, read_entry
from tripod.server.dashboards._set import DashboardSet
from tripod.server.dashboards.api import routes

__all__ = [
    "BUILTIN_UID",
    "DashboardSet",
    "Entry",
    "builtin_dashboard",
    "parse_dashboard",
    "read_entry",
    "routes",
]
