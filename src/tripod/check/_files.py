"""Which files ``tripod check`` reads, and which of them a branch changed (``--changed-only``)."""

from __future__ import annotations

import fnmatch
import os
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from tripod.check._config import CheckConfigError

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "build",
        "dist",
        ".eggs",
    }
)
SUFFIXES = frozenset({".py", ".yml", ".yaml", ".json"})
LAUNCH_WORDS = ("tripod run", "opentelemetry-instrument", "ddtrace-run")


def _excluded(path: Path, patterns: tuple[str, ...]) -> bool:
    text = path.as_posix()
    return any(fnmatch.fnmatch(text, p) or fnmatch.fnmatch(path.name, p) for p in patterns)


def discover(paths: Iterable[Path], exclude: tuple[str, ...]) -> Iterator[Path]:
    """Files to analyse under ``paths`` (a file given by name is always read)."""
    for root in paths:
        if root.is_file():
            yield root
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(
                d
                for d in dirs
                if d not in SKIP_DIRS
                and not d.endswith(".egg-info")
                and not (exclude and _excluded(Path(folder, d), exclude))
            )
            for name in sorted(files):
                if not (name.endswith(_SUFFIXES) or _is_launcher_name(name)):
                    continue
                path = Path(folder, name)
                if not (exclude and _excluded(path, exclude)):
                    yield path


_SUFFIXES = tuple(SUFFIXES)
#: Files where a launcher may run the app under instrumentation (`tripod run -- …`).
_LAUNCHER_SUFFIXES = (".sh", ".toml", ".cfg", ".ini")


def _is_launcher_name(name: str) -> bool:
    return name.startswith(("Dockerfile", "Procfile", "Makefile")) or name.endswith(
        _LAUNCHER_SUFFIXES
    )


def launcher(path: Path) -> bool:
    return _is_launcher_name(path.name)


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        msg = f"--changed-only: cannot run git ({exc})"
        raise CheckConfigError(msg) from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["git failed"])[0]
        msg = f"--changed-only: git {' '.join(args)}: {first}"
        raise CheckConfigError(msg)
    return done.stdout


def changed_files(cwd: Path, base: str | None) -> set[Path]:
    """Files changed between the merge-base with ``base`` (default origin/main, else main) and
    the working tree, plus untracked files."""
    top = Path(_git(cwd, "rev-parse", "--show-toplevel").strip())
    refs = [base] if base else ["origin/main", "main", "origin/master", "master"]
    for ref in refs:
        probe = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            cwd=cwd,
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            break
    else:
        msg = (
            f"--base {base!r}: no such git ref"
            if base
            else "--changed-only: no origin/main or main branch; pass --base REF"
        )
        raise CheckConfigError(msg)
    merge_base = _git(cwd, "merge-base", "HEAD", ref).strip()
    names = _git(cwd, "diff", "--name-only", "--diff-filter=ACMR", merge_base).splitlines()
    names += _git(cwd, "ls-files", "--others", "--exclude-standard", "--full-name").splitlines()
    return {(top / n).resolve() for n in names if n}
