"""Alertmanager API v2 routes of the built-in notifier, with Alertmanager's JSON shapes.

``GET/POST /api/v2/silences``, ``GET/DELETE /api/v2/silence/{id}``, and (with a notifier)
``POST /api/v2/alerts`` so anything that speaks to an Alertmanager can deliver here. Errors answer
400 or 404 with a JSON string saying why, as Alertmanager does; never a 5xx for bad input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tripod.server.notify._wire import parse_time
from tripod.server.notify.matchers import MatcherError, parse_matcher
from tripod.server.notify.model import Alert, AlertSink
from tripod.server.notify.silences import SilenceError, SilenceNotFoundError, SilenceStore

__all__ = ["MAX_BODY_BYTES", "routes"]

MAX_BODY_BYTES = 1 << 20


def _error(status: int, reason: str) -> Response:
    return JSONResponse(reason, status_code=status)


async def _json_body(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        msg = f"request body over {MAX_BODY_BYTES} bytes"
        raise ValueError(msg)
    try:
        return json.loads(body)
    except ValueError as exc:
        msg = f"body is not JSON: {exc}"
        raise ValueError(msg) from None


def _alerts_from_api(raw: Any) -> list[Alert]:
    if not isinstance(raw, list):
        msg = "expected a JSON array of alerts"
        raise ValueError(msg)
    alerts: list[Alert] = []
    for i, item in enumerate(raw):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("labels"), dict)
            or not item["labels"]
        ):
            msg = f"alert {i}: labels (a non-empty object) are required"
            raise ValueError(msg)
        labels, annotations = item["labels"], item.get("annotations") or {}
        if not all(isinstance(v, str) for v in [*labels.values(), *annotations.values()]):
            msg = f"alert {i}: label and annotation values must be strings"
            raise ValueError(msg)
        try:
            starts = parse_time(item["startsAt"]) if item.get("startsAt") else None
            ends = parse_time(item["endsAt"]) if item.get("endsAt") else None
        except (ValueError, TypeError) as exc:
            msg = f"alert {i}: bad startsAt/endsAt: {exc}"
            raise ValueError(msg) from None
        alerts.append(
            Alert(
                labels=dict(labels),
                annotations=dict(annotations),
                starts_at=starts if starts is not None else -1.0,
                ends_at=ends,
                generator_url=str(item.get("generatorURL") or ""),
            )
        )
    return alerts


def routes(
    silences: SilenceStore,
    sink: AlertSink | None = None,
    clock: Callable[[], float] | None = None,
) -> list[BaseRoute]:
    """The routes for ``silences`` (and, when ``sink`` is given, alert intake)."""
    now = clock or silences.clock

    async def list_silences(request: Request) -> Response:
        try:
            filters = [parse_matcher(f) for f in request.query_params.getlist("filter")]
        except MatcherError as exc:
            return _error(400, str(exc))
        found = await run_in_threadpool(silences.list, filters)
        at = now()
        return JSONResponse([s.to_api(at) for s in found])

    async def post_silence(request: Request) -> Response:
        try:
            raw = await _json_body(request)
            sid = await run_in_threadpool(silences.set, raw)
        except SilenceNotFoundError as exc:
            return _error(404, f"silence {exc.args[0]} not found")
        except (SilenceError, ValueError) as exc:
            return _error(400, str(exc))
        return JSONResponse({"silenceID": sid})

    async def get_silence(request: Request) -> Response:
        try:
            found = silences.get(request.path_params["sid"])
        except SilenceNotFoundError:
            return _error(404, "silence not found")
        return JSONResponse(found.to_api(now()))

    async def delete_silence(request: Request) -> Response:
        try:
            await run_in_threadpool(silences.expire, request.path_params["sid"])
        except SilenceNotFoundError:
            return _error(404, "silence not found")
        return Response(status_code=200)

    async def post_alerts(request: Request) -> Response:
        assert sink is not None
        try:
            alerts = _alerts_from_api(await _json_body(request))
        except ValueError as exc:
            return _error(400, str(exc))
        at = now()
        sink.send([a if a.starts_at >= 0 else _started(a, at) for a in alerts])
        return Response(status_code=200)

    found: list[BaseRoute] = [
        Route("/api/v2/silences", list_silences, methods=["GET"]),
        Route("/api/v2/silences", post_silence, methods=["POST"]),
        Route("/api/v2/silence/{sid}", get_silence, methods=["GET"]),
        Route("/api/v2/silence/{sid}", delete_silence, methods=["DELETE"]),
    ]
    if sink is not None:
        found.append(Route("/api/v2/alerts", post_alerts, methods=["POST"]))
    return found


def _started(alert: Alert, now: float) -> Alert:
    """Alertmanager sets a missing ``startsAt`` to the time it received the alert."""
    return Alert(alert.labels, alert.annotations, now, alert.ends_at, alert.generator_url)
