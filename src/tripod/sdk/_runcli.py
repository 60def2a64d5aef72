"""``tripod run -- <command ...>``: run a command with zero-code instrumentation.

Puts ``tripod/sdk/_bootstrap`` first on ``PYTHONPATH`` (its ``sitecustomize`` instruments every
Python process of the command; see ``autoinstrument``), gives gunicorn and uvicorn their private
metrics directory when ``TRIPOD_MULTIPROC_DIR`` is unset, then replaces itself with the command
(``execvpe``), so signals, the pid and the exit code are the command's own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from tripod.sdk.metrics._prefork import server_dir

__all__ = ["run_command"]

BOOTSTRAP = Path(__file__).resolve().parent / "_bootstrap"
_MULTI_PROCESS = ("gunicorn", "uvicorn")


def _multiprocess_dir(argv: list[str]) -> str | None:
    """The server's private directory keyed by this pid (the master after exec), for servers.

    Needed because the bootstrap imports tripod before the server's own package, when
    ``_prefork`` cannot yet see which server this is.
    """
    words = [os.path.basename(a) for a in argv[:3]]
    if not any(w in _MULTI_PROCESS for w in words):
        return None
    return str(server_dir(os.getpid()))


@click.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run_command(command: tuple[str, ...]) -> None:
    """Run COMMAND with tripod instrumentation, configured by TRIPOD_*/OTEL_* env vars.

    Example: tripod run -- gunicorn -w 4 app:app
    """
    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        click.echo(
            "tripod run: give a command to run, e.g. tripod run -- gunicorn app:app", err=True
        )
        sys.exit(2)
    env = dict(os.environ)
    paths = [str(BOOTSTRAP), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    if not env.get("TRIPOD_MULTIPROC_DIR"):
        directory = _multiprocess_dir(argv)
        if directory is not None:
            env["TRIPOD_MULTIPROC_DIR"] = directory
    try:
        os.execvpe(argv[0], argv, env)  # noqa: S606  # becoming the command is the point
    except OSError as exc:
        click.echo(f"tripod run: cannot run {argv[0]!r}: {exc.strerror or exc}", err=True)
        sys.exit(2)
