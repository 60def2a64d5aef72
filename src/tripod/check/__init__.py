"""``tripod check``: static analysis of a service's code, rule files and dashboards.

It reads Python with ``ast`` (nothing is imported or run), Prometheus rule files and Grafana
dashboards, and compares every metric name a query reads with the catalog ``tripod generate``
writes from: ``tripod.catalog`` plus what the project's code declares. See docs/check.md.
"""

from __future__ import annotations

from tripod.check._config import CheckConfigError, Options
from tripod.check._model import RULES, Finding, Rule, Severity
from tripod.check._run import Report, run

__all__ = ["RULES", "CheckConfigError", "Finding", "Options", "Report", "Rule", "Severity", "run"]
