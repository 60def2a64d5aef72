"""``tripod rules check FILE...`` and ``tripod test rules FILE...``, promtool's two rule commands.

Exit codes: 0 all valid / all tests pass, 1 a check or test failed, 2 a usage error (one line).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from tripod.server.rules._templating import GoTemplateExpander, check_template
from tripod.server.rules.check import check_rule_files
from tripod.server.rules.ruletest import run_test_files

__all__ = ["rules_command", "test_command"]


def _usage(command: str, message: str) -> NoReturn:
    click.echo(f"tripod {command}: {message}", err=True)
    sys.exit(2)


def _existing(command: str, files: tuple[str, ...]) -> list[str]:
    if not files:
        _usage(command, "give at least one FILE")
    for name in files:
        if not Path(name).is_file():
            _usage(command, f"{name}: no such file")
    return list(files)


@click.group("rules", context_settings={"help_option_names": ["-h", "--help"]})
def rules_command() -> None:
    """Work with Prometheus rule files."""


@rules_command.command("check")
@click.argument("files", nargs=-1)
@click.option(
    "--lint",
    type=click.Choice(["duplicate-rules", "none"]),
    default="duplicate-rules",
    show_default=True,
    help="Lint to apply: report rules with the same name and labels.",
)
@click.option("--lint-fatal", is_flag=True, help="Make lint findings fail the check (exit 1).")
def check_command(files: tuple[str, ...], lint: str, lint_fatal: bool) -> None:
    """Validate rule files as `promtool check rules` does (exit 1 on a problem)."""
    paths = _existing("rules check", files)
    code = check_rule_files(
        paths,
        sys.stdout,
        sys.stderr,
        lint_duplicates=lint == "duplicate-rules",
        lint_fatal=lint_fatal,
        template_check=check_template,
    )
    sys.exit(code)


@click.group("test", context_settings={"help_option_names": ["-h", "--help"]})
def test_command() -> None:
    """Unit-test rules."""


@test_command.command("rules")
@click.argument("files", nargs=-1)
def test_rules_command(files: tuple[str, ...]) -> None:
    """Run promtool rule unit-test files (exit 1 when a test fails)."""
    paths = _existing("test rules", files)
    code = run_test_files(
        paths,
        sys.stdout,
        sys.stderr,
        expander=GoTemplateExpander(),
        template_check=check_template,
    )
    sys.exit(code)
