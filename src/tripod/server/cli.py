"""``tripod serve``: parse flags and the ``--config`` YAML, open the store, bind, serve.

Every bad option, unreadable config or taken port ends with exit status 2 and one line on stderr.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from tripod.server.config import Limits, ServerConfig, parse_duration, parse_size

__all__ = ["serve_command"]


def _fail(message: str) -> NoReturn:
    click.echo(f"tripod serve: {message}", err=True)
    sys.exit(2)


def _limits(raw: Any) -> Limits:
    if raw is None:
        return Limits()
    if not isinstance(raw, dict):
        _fail(f"'limits' in --config must be a mapping, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(Limits)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(fields)}"
            _fail(f"unknown limit {key!r} in --config{hint}")
        default = getattr(Limits(), key)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value <= 0
            or (isinstance(default, int) and not isinstance(value, int))
        ):
            kind = "a positive integer" if isinstance(default, int) else "a positive number"
            _fail(f"limits.{key} in --config is {value!r}; expected {kind}")
        values[key] = value
    return Limits(**values)


def _load_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    import yaml

    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        _fail(f"cannot read --config {path}: {exc.strerror or exc}")
    except yaml.YAMLError as exc:
        reason = str(exc).replace("\n", " ")
        _fail(f"--config {path} is not valid YAML: {reason}")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        _fail(f"--config {path} must hold a mapping (limits:, scrape_configs:), not a list")
    return raw


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit this: without it, a keep-alive client's second request
    # waits ~40 ms (Nagle's algorithm against the client's delayed ACK)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port")
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@click.command("serve", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path(".tripod"),
    show_default=True,
    help="Where the store lives.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; a non-loopback address needs --token.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=4318, show_default=True)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML with limits: and scrape_configs:.",
)
@click.option(
    "--retention-time",
    default="15d",
    show_default=True,
    help="Drop data older than this (Prometheus duration); 0 keeps everything.",
)
@click.option(
    "--retention-size",
    default="0",
    show_default=True,
    help="Drop the oldest data above this size (e.g. 512MB); 0 means no limit.",
)
@click.option(
    "--token",
    envvar="TRIPOD_SERVE_TOKEN",
    default=None,
    help="Bearer token required by every endpoint but /-/healthy.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    show_default=True,
)
def serve_command(
    *,
    data_dir: Path,
    host: str,
    port: int,
    config_path: Path | None,
    retention_time: str,
    retention_size: str,
    token: str | None,
    log_level: str,
) -> None:
    """Run the embedded backend: OTLP, Prometheus ingest, PromQL, traces and logs on one port."""
    try:
        retention_s = parse_duration(retention_time)
    except ValueError as exc:
        _fail(f"--retention-time {exc}")
    try:
        retention_bytes = parse_size(retention_size)
    except ValueError as exc:
        _fail(f"--retention-size {exc}")
    raw = _load_config(config_path)
    scrape = raw.get("scrape_configs") or []
    if not isinstance(scrape, list):
        _fail("'scrape_configs' in --config must be a list")
    from tripod.server.ingest.scrape import validate_scrape_configs  # (added by prom-ingest)

    try:  # a bad scrape config is a one-line error at start, not a failed startup later
        global_ = raw.get("global")
        validate_scrape_configs(scrape, global_ if isinstance(global_, dict) else {})
    except ValueError as exc:
        _fail(f"--config {config_path}: {exc}")
    token = token or None
    if not _is_loopback(host) and not token:
        _fail(f"--host {host} is not a loopback address: set --token or TRIPOD_SERVE_TOKEN so "
              "only holders of the token can read and write")  # fmt: skip
    config = ServerConfig(
        data_dir=data_dir,
        host=host,
        port=port,
        retention_time_s=retention_s,
        retention_size_bytes=retention_bytes,
        limits=_limits(raw.get("limits")),
        scrape_configs=tuple(scrape),
        raw=raw,
        token=token,
    )
    sock = _bind(host, port)
    _run(config, sock, log_level)


def _run(config: ServerConfig, sock: socket.socket, log_level: str) -> None:
    import uvicorn

    from tripod.server.app import build_app
    from tripod.server.store.db import StoreError
    from tripod.server.store.open import open_context

    try:
        ctx = open_context(config)
    except (StoreError, OSError) as exc:
        sock.close()
        _fail(str(exc).replace("\n", " "))
    app = build_app(ctx)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            limit_concurrency=1024,
            timeout_graceful_shutdown=5,
            lifespan="on",
        )
    )
    try:
        server.run(sockets=[sock])
    finally:
        ctx.db.close()
        if os.environ.get("TRIPOD_SERVE_DEBUG"):
            click.echo("tripod serve: stopped", err=True)
