"""``/api/v1/ui/dashboards``: the list (paged) and one dashboard's JSON, for the web UI.

Answers use the Prometheus API's envelope (``{"status": "success", "data": ...}``; errors
``{"status": "error", "errorType", "error"}``). A uid only ever selects among the listed
entries, so no request can name a path.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tripod.server._http import prometheus_error, prometheus_json
from tripod.server.dashboards._builtin import builtin_dashboard
from tripod.server.dashboards._set import DashboardSet
from tripod.server.deps import ServerContext

__all__ = ["DEFAULT_PAGE", "MAX_PAGE", "routes"]

DEFAULT_PAGE = 100
MAX_PAGE = 1000


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        msg = f"{name}={raw!r} is not valid; expected an integer from {low} to {high}"
        raise ValueError(msg)
    return value


def routes(ctx: ServerContext, dashboards: DashboardSet | None = None) -> list[BaseRoute]:
    """The two routes over ``dashboards`` (default: the configured ones, or the built-in)."""
    board_set = dashboards or DashboardSet(ctx.config.dashboards, builtin_dashboard)

    async def list_dashboards(request: Request) -> Response:
        try:
            limit = _int_param(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
            offset = _int_param(request, "offset", 0, 0, 10**9)
        except ValueError as exc:
            return prometheus_error(400, "bad_data", str(exc))
        search = request.query_params.get("search", "").casefold()
        tag = request.query_params.get("tag")
        entries = await run_in_threadpool(board_set.entries)
        if search:
            entries = [e for e in entries if search in e.title.casefold() or search in e.file]
        if tag:
            entries = [e for e in entries if tag in e.tags]
        page = entries[offset : offset + limit]
        data = {
            "dashboards": [e.summary() for e in page],
            "total": len(entries),
            "offset": offset,
            "limit": limit,
            "note": board_set.note,
        }
        return prometheus_json({"status": "success", "data": data})

    async def get_dashboard(request: Request) -> Response:
        uid = request.path_params["uid"]
        entry = await run_in_threadpool(board_set.get, uid)
        if entry is None:
            return prometheus_error(404, "not_found", f"no dashboard with uid {uid!r}")
        if entry.dashboard is None:
            return prometheus_error(422, "bad_data", f"{entry.file}: {entry.error}")
        data = {**entry.summary(), "dashboard": entry.dashboard}
        return prometheus_json({"status": "success", "data": data})

    return [
        Route("/api/v1/ui/dashboards", list_dashboards, methods=["GET"]),
        Route("/api/v1/ui/dashboards/{uid}", get_dashboard, methods=["GET"]),
    ]
