"""``tripod generate``: a thin click shell over :mod:`tripod.codegen`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tripod.codegen._errors import GenerateError
from tripod.codegen._generate import TARGETS, differences, parse_targets, render, write
from tripod.codegen._load import load_service


@click.command("generate")
@click.argument("description", required=False, type=click.Path(path_type=Path), default=Path())
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("deploy"),
    show_default=True,
    help="Folder the files are written to.",
)
@click.option("--target", "targets", help=f"Comma-separated subset of: {', '.join(TARGETS)}.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if files on disk differ.")
def generate_command(description: Path, out: Path, targets: str | None, check: bool) -> None:
    """Generate Prometheus, Alertmanager and Grafana configuration and runbooks from a service
    description: DESCRIPTION is a tripod.yaml, a pyproject.toml with [tool.tripod.generate], or
    a folder holding one (default: the current folder)."""
    try:
        svc = load_service(description)
        files = render(svc, parse_targets(targets))
    except GenerateError as exc:
        click.echo(f"tripod generate: {exc}", err=True)
        sys.exit(2)
    if check:
        stale = differences(files, out)
        for rel in stale:
            click.echo(
                f"tripod generate: {out / rel} differs from what would be generated", err=True
            )
        if stale:
            sys.exit(1)
        click.echo(f"{len(files)} files in {out} are up to date")
        return
    try:
        changed, removed = write(files, out)
    except OSError as exc:
        click.echo(
            f"tripod generate: --out = {str(out)!r}: expected a writable folder ({exc})", err=True
        )
        sys.exit(2)
    click.echo(f"wrote {len(changed)} of {len(files)} files under {out}")
    for rel in removed:
        click.echo(f"removed {out / rel}: no longer generated")
