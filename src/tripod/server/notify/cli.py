"""``tripod silence add|ls|expire``: silences over Alertmanager's API v2, like ``amtool silence``.

Talks HTTP to a running ``tripod serve`` (``--url``, default ``$TRIPOD_URL`` or
http://127.0.0.1:4318) or to any real Alertmanager, since the API is the same.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click
import httpx

from tripod.server.notify._wire import format_millis, parse_duration, parse_time
from tripod.server.notify.matchers import MatcherError, parse_matchers

__all__ = ["silence_command"]

DEFAULT_URL = "http://127.0.0.1:4318"


def _fail(message: str) -> NoReturn:
    click.echo(f"tripod silence: {message}", err=True)
    sys.exit(2)


_F = TypeVar("_F", bound=Callable[..., Any])


def _server_options(fn: _F) -> _F:
    """``--url``/``--token`` after the subcommand too (amtool takes its flags anywhere)."""

    def remember(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None:
            ctx.ensure_object(dict)[str(param.name)] = value

    fn = click.option("--token", default=None, expose_value=False, callback=remember,
                      help="Bearer token.")(fn)  # fmt: skip
    return click.option("--url", default=None, expose_value=False, callback=remember,
                        help="Server URL (overrides the group's --url).")(fn)  # fmt: skip


def _client(ctx: click.Context) -> httpx.Client:
    url, token = ctx.obj["url"], ctx.obj["token"]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30.0)


def _call(ctx: click.Context, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        with _client(ctx) as client:
            response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {ctx.obj['url']}: {exc}")
    if response.status_code // 100 != 2:
        try:
            reason = response.json()
        except ValueError:
            reason = response.text
        if isinstance(reason, dict):
            reason = reason.get("error") or reason.get("message") or json.dumps(reason)
        _fail(f"{method} {path}: HTTP {response.status_code}: {str(reason).strip()[:300]}")
    return response


@click.group("silence", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    default=lambda: os.environ.get("TRIPOD_URL", DEFAULT_URL),
    show_default=DEFAULT_URL,
    help="tripod serve or Alertmanager base URL (like amtool's --alertmanager.url).",
)
@click.option("--token", default=lambda: os.environ.get("TRIPOD_TOKEN"), help="Bearer token.")
@click.pass_context
def silence_command(ctx: click.Context, url: str, token: str | None) -> None:
    """Add, list and expire silences (Alertmanager API v2)."""
    ctx.ensure_object(dict).update(url=url, token=token)


@silence_command.command("add")
@_server_options
@click.argument("matchers", nargs=-1, required=True)
@click.option("-c", "--comment", required=True, help="Why the silence exists.")
@click.option("-a", "--author", default=None, help="Created by (default: your user name).")
@click.option("-d", "--duration", default="1h", show_default=True, help="How long, e.g. 2h.")
@click.option("--start", default=None, help="Start (RFC 3339); default now.")
@click.pass_context
def add(  # noqa: PLR0917 (click passes options positionally)
    ctx: click.Context,
    matchers: tuple[str, ...],
    comment: str,
    author: str | None,
    duration: str,
    start: str | None,
) -> None:
    """Silence alerts matching MATCHERS (e.g. alertname=HighErrorRate 'service=~"api|web"')."""
    try:
        parsed = [m for text in matchers for m in parse_matchers(text)]
        seconds = parse_duration(duration, "--duration")
        begin = parse_time(start) if start else time.time()
    except (MatcherError, ValueError) as exc:
        _fail(str(exc))
    if begin is None or seconds <= 0:
        _fail("--start must be a time and --duration longer than 0")
    body = {
        "matchers": [m.to_api() for m in parsed],
        "startsAt": format_millis(begin),
        "endsAt": format_millis(begin + seconds),
        "createdBy": author or _user(),
        "comment": comment,
    }
    response = _call(ctx, "POST", "/api/v2/silences", json=body)
    click.echo(response.json()["silenceID"])


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        return "tripod"


def _matchers_text(raw: list[dict[str, Any]]) -> str:
    ops = {(True, False): "=", (False, False): "!=", (True, True): "=~", (False, True): "!~"}
    parts = []
    for m in raw:
        op = ops[bool(m.get("isEqual", True)), bool(m.get("isRegex", False))]
        parts.append(f'{m["name"]}{op}"{m["value"]}"')
    return " ".join(parts)


@silence_command.command("ls")
@_server_options
@click.argument("filters", nargs=-1)
@click.option("--expired", is_flag=True, help="Show expired silences instead of active ones.")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def ls(ctx: click.Context, filters: tuple[str, ...], expired: bool, output: str) -> None:
    """List silences, optionally those whose matchers include FILTERS."""
    try:
        wanted = [str(m) for text in filters for m in parse_matchers(text)]
    except MatcherError as exc:
        _fail(str(exc))
    found = _call(ctx, "GET", "/api/v2/silences", params=[("filter", f) for f in wanted]).json()
    shown = [s for s in found if (s["status"]["state"] == "expired") == expired]
    if output == "json":
        click.echo(json.dumps(shown, indent=2))
        return
    rows = [("ID", "Matchers", "Ends At", "Created By", "Comment")]
    rows += [
        (s["id"], _matchers_text(s["matchers"]), s["endsAt"], s["createdBy"], s["comment"])
        for s in shown
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@silence_command.command("expire")
@_server_options
@click.argument("ids", nargs=-1, required=True)
@click.pass_context
def expire(ctx: click.Context, ids: tuple[str, ...]) -> None:
    """Expire the silences with these IDs."""
    for sid in ids:
        _call(ctx, "DELETE", f"/api/v2/silence/{sid}")
