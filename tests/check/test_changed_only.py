"""``--changed-only``: findings only in files a branch changed since its merge-base, in a real
temporary git repository; the whole tree is still read."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from click.testing import CliRunner

from tripod.cli import cli

DECLARE = 'from prometheus_client import Counter\n\n{name} = Counter("{metric}", "Help.")\n'


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


def _check(repo: Path, *args: str) -> tuple[int, list[dict[str, object]], str]:
    old = Path.cwd()
    os.chdir(repo)
    try:
        result = CliRunner().invoke(cli, ["check", "--format", "json", *args])
    finally:
        os.chdir(old)
    out = json.loads(result.stdout) if result.stdout.strip() else []
    return result.exit_code, out, result.stderr


def test_changed_only_reports_the_branch_s_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "old.py").write_text(DECLARE.format(name="OLD", metric="old_events_total"))
    (repo / "user.py").write_text("from old import OLD\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "new.py").write_text(DECLARE.format(name="NEW", metric="new_events_total"))
    _git(repo, "add", "new.py")
    _git(repo, "commit", "-q", "-m", "feature")
    (repo / "untracked.py").write_text(DECLARE.format(name="UNT", metric="unt_events_total"))

    code, every, _ = _check(repo, ".")
    assert code == 1
    assert sorted(f["path"] for f in every) == ["new.py", "old.py", "untracked.py"]

    code, changed, _ = _check(repo, "--changed-only", ".")
    assert code == 1
    assert sorted(f["path"] for f in changed) == ["new.py", "untracked.py"]

    code, changed, _ = _check(repo, "--changed-only", "--base", "feature", ".")
    assert [f["path"] for f in changed] == ["untracked.py"]

    # a metric recorded in an unchanged file still counts: the whole tree is read
    (repo / "new_user.py").write_text("from new import NEW\nNEW.inc()\n")
    code, changed, _ = _check(repo, "--changed-only", ".")
    assert sorted(f["path"] for f in changed) == ["untracked.py"]


def test_changed_only_errors_are_one_line(tmp_path: Path) -> None:
    code, _, err = _check(tmp_path, "--changed-only", ".")
    assert code == 2
    assert err.startswith("tripod check: --changed-only: git rev-parse")
    repo = tmp_path / "r"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "trunk")
    (repo / "a.py").write_text("x = 1\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    code, _, err = _check(repo, "--changed-only", ".")
    assert (code, err.strip()) == (
        2, "tripod check: --changed-only: no origin/main or main branch; pass --base REF"
    )  # fmt: skip
    code, _, err = _check(repo, "--changed-only", "--base", "nope", ".")
    assert (code, err.strip()) == (2, "tripod check: --base 'nope': no such git ref")
