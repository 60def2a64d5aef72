"""``GET /api/v1/targets``: the scraper's targets and their health, in Prometheus's JSON shape
(``activeTargets`` / ``droppedTargets``), so Grafana, scripts and tests can see what is scraped."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tripod.server._http import prometheus_error, prometheus_json
from tripod.server.config import format_duration
from tripod.server.deps import ServerContext
from tripod.server.ingest.scrape._manager import running_manager

__all__ = ["routes"]

_NEVER = "0001-01-01T00:00:00Z"


def _active(loop: Any) -> dict[str, Any]:
    target = loop.target
    last = loop.last
    when = (
        dt.datetime.fromtimestamp(loop.last_scrape_s, dt.UTC).isoformat().replace("+00:00", "Z")
        if loop.last_scrape_s
        else _NEVER
    )
    health = "unknown" if last is None else ("up" if last.up else "down")
    return {
        "discoveredLabels": dict(target.discovered),
        "labels": dict(target.labels),
        "scrapePool": target.job,
        "scrapeUrl": target.url,
        "globalUrl": target.url,
        "lastError": "" if last is None else last.error,
        "lastScrape": when,
        "lastScrapeDuration": loop.last_duration_s,
        "health": health,
        "scrapeInterval": format_duration(target.interval_s),
        "scrapeTimeout": format_duration(target.timeout_s),
    }


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """``GET /api/v1/targets[?state=active|dropped|any]`` for the scrape manager of ``ctx``."""

    async def targets(request: Request) -> Response:
        state = request.query_params.get("state", "any")
        if state not in ("active", "dropped", "any"):
            msg = f"state={state!r}: expected active, dropped or any"
            return prometheus_error(400, "bad_data", msg)
        manager = running_manager(ctx)
        jobs = manager.jobs if manager is not None else []
        active = [_active(loop) for job in jobs for loop in job.loops.values()]
        dropped = [{"discoveredLabels": labels} for job in jobs for labels in job.dropped]
        data = {
            "activeTargets": active if state != "dropped" else [],
            "droppedTargets": dropped if state != "active" else [],
        }
        return prometheus_json({"status": "success", "data": data})

    return [Route("/api/v1/targets", targets, methods=["GET"])]
