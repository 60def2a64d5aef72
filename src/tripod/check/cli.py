"""``tripod check``: a thin click shell over :mod:`tripod.check`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tripod.check._config import CheckConfigError, build, find_pyproject, from_pyproject
from tripod.check._files import changed_files
from tripod.check._output import FORMATS
from tripod.check._run import run


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True
)
@click.option("--select", help="Comma-separated rule ids to run (default: all).")
@click.option("--ignore", help="Comma-separated rule ids to skip.")
@click.option(
    "--fail-on",
    type=click.Choice(["info", "warning", "bug", "fatal"]),
    help="Exit 1 when a finding is at least this severe (default: bug).",
)
@click.option("--changed-only", is_flag=True, help="Report only files the branch changed.")
@click.option("--base", help="Git ref to diff against with --changed-only (default origin/main).")
def check_command(  # noqa: PLR0917 (click passes options positionally)
    paths: tuple[Path, ...],
    fmt: str,
    select: str | None,
    ignore: str | None,
    fail_on: str | None,
    changed_only: bool,
    base: str | None,
) -> None:
    """Find what makes dashboards empty and alerts silent: uninstrumented routes, metrics never
    recorded, unknown metric names in rules and dashboards, naming, cardinality, logging and
    rule hygiene. PATHS default to [tool.tripod.check] paths, else the current folder."""
    try:
        pyproject = find_pyproject(Path.cwd())
        table = from_pyproject(pyproject)
        options = build(
            table,
            select=select,
            ignore=ignore,
            fail_on=fail_on,
            where=f"{pyproject} [tool.tripod.check]",
        )
        if base is not None and not changed_only:
            raise CheckConfigError("--base needs --changed-only")
        targets = list(paths) or [Path(p) for p in options.paths] or [Path()]
        only = changed_files(Path.cwd(), base) if changed_only else None
        report = run(targets, options, only)
    except CheckConfigError as exc:
        click.echo(f"tripod check: {exc}", err=True)
        sys.exit(2)
    for notice in report.notices:
        click.echo(notice, err=True)
    output = FORMATS[fmt](report.findings)
    if output:
        click.echo(output)
    if any(f.severity >= options.fail_on for f in report.findings):
        sys.exit(1)
