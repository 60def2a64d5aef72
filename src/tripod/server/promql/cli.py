"""``tripod query``: run a PromQL query against a running `tripod serve` over its HTTP API and
print a table (labels, value) or the raw JSON answer."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, NoReturn

import click
import httpx

__all__ = ["query_command"]

DEFAULT_URL = "http://127.0.0.1:4318"


def _fail(message: str) -> NoReturn:
    click.echo(f"tripod query: {message}", err=True)
    sys.exit(2)


def _labels(metric: dict[str, str]) -> str:
    name = metric.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def _table(data: dict[str, Any]) -> list[str]:
    kind = data.get("resultType")
    result = data.get("result")
    if kind in {"scalar", "string"}:
        return [str(result[1])] if isinstance(result, list) else []
    rows: list[tuple[str, str]] = []
    for item in result or []:
        label = _labels(item.get("metric", {}))
        if kind == "vector":
            rows.append((label, item["value"][1]))
        else:
            points = item.get("values", [])
            shown = " ".join(f"{v}@{t}" for t, v in points[-5:])
            more = f" ({len(points)} points)" if len(points) > 5 else ""
            rows.append((label, shown + more))
    if not rows:
        return ["(no data)"]
    width = min(max(len(r[0]) for r in rows), 120)
    return [f"{label:<{width}}  {value}" for label, value in rows]


@click.command("query", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("expr")
@click.option(
    "--url",
    default=lambda: os.environ.get("TRIPOD_URL", DEFAULT_URL),
    show_default=DEFAULT_URL,
    help="Base URL of tripod serve (or any Prometheus).",
)
@click.option(
    "--at", "at", default=None, help="Evaluation time (unix seconds or RFC 3339); default now."
)
@click.option("--start", default=None, help="Range start (unix seconds, RFC 3339).")
@click.option("--end", default=None, help="Range end; default now.")
@click.option("--step", default="15s", show_default=True, help="Range step (duration or seconds).")
@click.option("--timeout", default=None, help="Query timeout passed to the server, e.g. 30s.")
@click.option("--token", default=lambda: os.environ.get("TRIPOD_TOKEN"), help="Bearer token.")
@click.option(
    "-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def query_command(  # noqa: PLR0917 (click passes options positionally)
    expr: str,
    url: str,
    at: str | None,
    start: str | None,
    end: str | None,
    step: str,
    timeout: str | None,
    token: str | None,
    output: str,
) -> None:
    """Run the PromQL EXPR: an instant query (--at), or a range query with --start."""
    params: dict[str, str] = {"query": expr}
    if start is not None:
        if at is not None:
            _fail("give either --at (instant query) or --start/--end (range query), not both")
        path = "/api/v1/query_range"
        params.update(start=start, end=end or f"{time.time():.3f}", step=step)
    else:
        if end is not None:
            _fail("--end needs --start; for an instant query use --at")
        path = "/api/v1/query"
        if at is not None:
            params["time"] = at
    if timeout:
        params["timeout"] = timeout
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(url.rstrip("/") + path, data=params, headers=headers, timeout=300.0)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {url}: {exc}; is `tripod serve` running there (see --url)?")
    try:
        body = response.json()
    except ValueError:
        _fail(f"{url}{path} answered HTTP {response.status_code} without JSON; is it tripod serve?")
    if output == "json":
        click.echo(json.dumps(body, indent=2))
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error", "unknown error") if isinstance(body, dict) else str(body)
        kind = body.get("errorType", "error") if isinstance(body, dict) else "error"
        if output == "json":
            sys.exit(2)
        _fail(f"{kind}: {error}")
    if output == "table":
        for line in _table(body.get("data") or {}):
            click.echo(line)
