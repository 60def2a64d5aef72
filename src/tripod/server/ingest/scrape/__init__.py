"""Scraping Prometheus targets: the manager (one loop per target), target discovery (static and
file-based), what a scrape writes (samples, report series, staleness markers), and
``GET /api/v1/targets``. The ``scrape_configs`` language itself is parsed with the rest of the
settings, in :mod:`tripod.server.config`.
"""

from __future__ import annotations

from tripod.server.ingest.scrape._api import routes
from tripod.server.ingest.scrape._manager import ACCEPT, ScrapeManager, running_manager
from tripod.server.ingest.scrape._targets import FileSD, Target, load_sd_file, targets_for
from tripod.server.ingest.scrape._writer import ScrapeResult, TargetWriter, merge_target_labels

__all__ = [
    "ACCEPT",
    "FileSD",
    "ScrapeManager",
    "ScrapeResult",
    "Target",
    "TargetWriter",
    "load_sd_file",
    "merge_target_labels",
    "routes",
    "running_manager",
    "targets_for",
]
