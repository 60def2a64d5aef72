"""Trace and log search behind ``GET /api/v1/traces`` and ``GET /api/v1/logs``, answered in the
Prometheus API envelope; :func:`routes` binds them to a server context."""

from __future__ import annotations

from tripod.server.query.api import routes

__all__ = ["routes"]
