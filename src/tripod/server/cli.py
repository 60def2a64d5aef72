"""``tripod serve``: read the settings once, open the store, bind, serve.

The options are built from :data:`tripod.server.config.FLAGS` (each with its environment
variable). Every bad option, unreadable config or taken port ends with exit status 2 and one line
on stderr.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from tripod.server.config import (
    FLAGS,
    LOG_LEVELS,
    ConfigError,
    FlagValues,
    ServerConfig,
    config_from_flags,
    load_server_config,
)

if TYPE_CHECKING:
    from tripod.server.app import Alerting

__all__ = ["serve_command"]

_CLICK_TYPES: dict[str, Any] = {
    "--data-dir": click.Path(path_type=Path),
    "--port": click.IntRange(0, 65535),
    "--config": click.Path(path_type=Path),
    "--log-level": click.Choice(LOG_LEVELS),
}


def _fail(message: str) -> NoReturn:
    click.echo(f"tripod serve: {message}", err=True)
    sys.exit(2)


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


def _with_flags(command: Callable[..., None]) -> Callable[..., None]:
    for flag in reversed(FLAGS):
        command = click.option(
            flag.flag,
            flag.param,
            envvar=flag.env,
            type=_CLICK_TYPES.get(flag.flag, str),
            default=flag.default,
            multiple=flag.multiple,
            show_default=flag.default is not None and flag.flag != "--token",
            show_envvar=True,
            help=flag.doc,
        )(command)
    return command


class _ServeCommand(click.Command):
    """Bad flag values (``--port http``) end in one line and exit 2, like every other error."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _fail(exc.format_message().replace("\n", " "))


@click.command("serve", cls=_ServeCommand, context_settings={"help_option_names": ["-h", "--help"]})
@_with_flags
def serve_command(*, config: Path | None, **values: Any) -> None:
    """Run the embedded backend: OTLP, Prometheus ingest, PromQL, traces and logs, rules and
    alerts on one port."""
    try:
        settings = load_server_config(config_from_flags(FlagValues(**values)), config)
    except ConfigError as exc:
        _fail(str(exc).replace("\n", " "))
    sock = _bind(settings.host, settings.port)
    _run(settings, sock)


def _reload_on_sighup(alerting: Alerting) -> None:
    """SIGHUP reloads the rule files and the routing file, as it does for Prometheus; a bad file
    is refused with one line on stderr and the last good set keeps running."""

    def reload() -> None:
        problems = alerting.reload()
        if problems:
            click.echo("tripod serve: reload refused: " + "; ".join(problems), err=True)

    def on_sighup(signum: int, frame: object) -> None:
        threading.Thread(target=reload, name="tripod-reload", daemon=True).start()

    signal.signal(signal.SIGHUP, on_sighup)


def _run(config: ServerConfig, sock: socket.socket) -> None:
    import uvicorn

    from tripod.server.app import Alerting, AlertingSetupError, build_app, open_context
    from tripod.server.store import StoreError

    try:
        ctx = open_context(config)
    except (StoreError, OSError) as exc:
        sock.close()
        _fail(str(exc).replace("\n", " "))
    try:
        alerting = Alerting(ctx)
    except AlertingSetupError as exc:
        sock.close()
        ctx.db.close()
        _fail(str(exc))
    _reload_on_sighup(alerting)
    app = build_app(ctx, alerting)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=config.log_level,
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
