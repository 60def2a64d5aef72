"""Ingest: OTLP/HTTP (traces, metrics, logs), Prometheus remote write, exposition-text import and
scraping, each refusing bad input with a counted reason.

:func:`routes` is every ingest endpoint bound to a :class:`~tripod.server.deps.ServerContext`;
:class:`ScrapeManager` runs the scrape loops; :func:`parse_exposition` is the one parser of the
Prometheus/OpenMetrics text format (import and scrape both use it).
"""

from __future__ import annotations

from tripod.server.ingest._routes import routes
from tripod.server.ingest.import_text import ExpositionError, ParsedExposition, parse_exposition
from tripod.server.ingest.scrape import ScrapeManager

__all__ = ["ExpositionError", "ParsedExposition", "ScrapeManager", "parse_exposition", "routes"]
