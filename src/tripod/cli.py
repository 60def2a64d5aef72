"""The ``tripod`` command. Each subcommand is a thin shell over a part of the package, loaded
only when used, so ``tripod --help`` works on the SDK's light install."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from tripod import __version__

# name -> (module:attribute, extra that provides it, one-line help)
_SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": ("tripod.server.cli:serve_command", "server", "Run the embedded backend."),
    "query": ("tripod.server.promql.cli:query_command", "server", "Run a PromQL query."),
    "silence": ("tripod.server.notify.cli:silence_command", "server", "Manage silences."),
    "rules": ("tripod.server.rules.cli:rules_command", "server", "Check Prometheus rule files."),
    "test": ("tripod.server.rules.cli:test_command", "server", "Unit-test rules, as promtool."),
    "generate": ("tripod.codegen.cli:generate_command", "codegen", "Write production configs."),
    "check": ("tripod.check.cli:check_command", "check", "Lint code, rules and dashboards."),
    "run": ("tripod.sdk._runcli:run_command", "", "Run a command with zero-code instrumentation."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_SUBCOMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _SUBCOMMANDS:
            return super().get_command(ctx, cmd_name)
        target, extra, short = _SUBCOMMANDS[cmd_name]
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            missing = exc.name or str(exc)

            @click.command(cmd_name, help=short, context_settings={"ignore_unknown_options": True})
            @click.argument("args", nargs=-1, type=click.UNPROCESSED)
            def unavailable(args: tuple[str, ...]) -> None:
                click.echo(
                    f"tripod {cmd_name}: needs {missing!r}; install it with "
                    f"pip install 'tripod[{extra}]'",
                    err=True,
                )
                sys.exit(2)

            return unavailable
        command: click.Command = getattr(module, attr)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tripod")
def cli() -> None:
    """tripod: metrics, traces and logs for Python services, in one package."""


def main(argv: list[str] | None = None) -> Any:
    """Console entry point; usage errors exit 2 with one line, as click does."""
    return cli.main(args=argv, prog_name="tripod")
