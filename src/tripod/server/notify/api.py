"""Alertmanager API v2 routes of the built-in notifier, with Alertmanager's JSON shapes.

``GET/POST /api/v2/silences``, ``GET/DELETE /api/v2/silence/{id}``, and with the built-in
notifier ``POST /api/v2/alerts`` (anything that speaks to an Alertmanager can deliver here) and
``GET /api/v2/alerts`` (``filter``, ``receiver``, ``active``, ``silenced``, ``inhibited``).
Errors answer 400 or 404 with a JSON string saying why, as Alertmanager does; never a 5xx for bad
input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tripod.server.notify._wire import format_millis, parse_time
from tripod.server.notify.dispatch import AlertView
from tripod.server.notify.matchers import Matcher, MatcherError, parse_matcher
from tripod.server.notify.model import Alert
from tripod.server.notify.silences import SilenceError, SilenceNotFoundError, SilenceStore

__all__ = ["MAX_BODY_BYTES", "AlertIntake", "routes"]

MAX_BODY_BYTES = 1 << 20


class AlertIntake(Protocol):
    """What the alert routes need of the built-in notifier."""

    def send(self, alerts: Sequence[Alert]) -> None: ...

    def view(self, now: float) -> list[AlertView]: ...


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


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "true").lower()
    if raw not in {"true", "false", "1", "0"}:
        msg = f"{name}={raw!r}: expected true or false"
        raise ValueError(msg)
    return raw in {"true", "1"}


def _gettable(view: AlertView, silenced_by: Sequence[str]) -> dict[str, Any]:
    """Alertmanager's ``GettableAlert``."""
    a = view.alert
    suppressed = bool(silenced_by or view.inhibited_by)
    out: dict[str, Any] = {
        "annotations": dict(sorted(a.annotations.items())),
        "endsAt": format_millis(a.ends_at),
        "fingerprint": view.fingerprint,
        "receivers": [{"name": r} for r in view.receivers],
        "startsAt": format_millis(a.starts_at),
        "status": {
            "inhibitedBy": view.inhibited_by,
            "silencedBy": list(silenced_by),
            "state": "suppressed" if suppressed else "active",
        },
        "updatedAt": format_millis(view.updated_at),
        "labels": dict(sorted(a.labels.items())),
    }
    if a.generator_url:
        out["generatorURL"] = a.generator_url
    return out


def routes(
    silences: SilenceStore,
    sink: AlertIntake | None = None,
    clock: Callable[[], float] | None = None,
) -> list[BaseRoute]:
    """The routes for ``silences`` (and, with the built-in notifier as ``sink``, alerts)."""
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

    async def list_alerts(request: Request) -> Response:
        assert sink is not None
        try:
            filters: list[Matcher] = [
                parse_matcher(f) for f in request.query_params.getlist("filter")
            ]
            want = {k: _flag(request, k) for k in ("active", "silenced", "inhibited")}
            receiver = request.query_params.get("receiver")
            receiver_re = re.compile(f"^(?:{receiver})\\Z") if receiver else None
        except (MatcherError, ValueError, re.error) as exc:
            return _error(400, str(exc))
        at = now()
        out = []
        for view in await run_in_threadpool(sink.view, at):
            labels = view.alert.labels
            if not all(m.matches(labels.get(m.name, "")) for m in filters):
                continue
            if receiver_re and not any(receiver_re.match(r) for r in view.receivers):
                continue
            silenced_by = silences.silenced_by(labels, at)
            if (silenced_by and not want["silenced"]) or (
                view.inhibited_by and not want["inhibited"]
            ):
                continue
            if not silenced_by and not view.inhibited_by and not want["active"]:
                continue
            out.append(_gettable(view, silenced_by))
        return JSONResponse(out)

    found: list[BaseRoute] = [
        Route("/api/v2/silences", list_silences, methods=["GET"]),
        Route("/api/v2/silences", post_silence, methods=["POST"]),
        Route("/api/v2/silence/{sid}", get_silence, methods=["GET"]),
        Route("/api/v2/silence/{sid}", delete_silence, methods=["DELETE"]),
    ]
    if sink is not None:
        found.append(Route("/api/v2/alerts", post_alerts, methods=["POST"]))
        found.append(Route("/api/v2/alerts", list_alerts, methods=["GET"]))
    return found


def _started(alert: Alert, now: float) -> Alert:
    """Alertmanager sets a missing ``startsAt`` to the time it received the alert."""
    return Alert(alert.labels, alert.annotations, now, alert.ends_at, alert.generator_url)
