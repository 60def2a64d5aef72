"""The two ways teams wire ``tripod check`` in: the pre-commit hook this repository publishes
(.pre-commit-hooks.yaml) and the GitHub Actions example (docs/ci/tripod-check.yml). Their
commands are run as written, on a corpus project; and docs/check.md documents every rule."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from tripod.check import RULES
from tripod.cli import cli

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "check_corpus" / "flask_bad"


def _run(command: str, cwd: Path) -> Result:
    """The command as a shell would split it, run in process from ``cwd``."""
    argv = shlex.split(command)
    assert argv[0] == "tripod"
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, argv[1:])
    finally:
        os.chdir(old)


def test_the_pre_commit_hook_runs_check_on_the_project(tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "tripod-check"
    assert hook["pass_filenames"] is False
    assert re.search(hook["files"], "app.py")
    assert re.search(hook["files"], "rules.yml")
    project = tmp_path / "p"
    shutil.copytree(BAD, project)
    done = _run(hook["entry"], project)
    assert done.exit_code == 1
    assert "[never-recorded]" in done.stdout
    (project / "pyproject.toml").write_text("[tool.tripod.check]\nfail-on = 'fatal'\n")
    assert _run(hook["entry"], project).exit_code == 0


def test_the_github_workflow_annotates_the_diff(tmp_path: Path) -> None:
    workflow = yaml.safe_load((ROOT / "docs" / "ci" / "tripod-check.yml").read_text())
    steps = workflow["jobs"]["tripod-check"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    runs = [s["run"] for s in steps if "run" in s and s["run"].startswith("tripod check")]
    full = next(r for r in runs if "--changed-only" not in r and "github" in r)
    done = _run(full, BAD)
    assert done.exit_code == 1
    lines = done.stdout.splitlines()
    assert lines
    assert all(
        re.match(r"::(error|warning|notice) file=[^,]+,line=\d+,col=\d+,title=", x) for x in lines
    )
    sarif = next(r for r in runs if "sarif" in r).partition(">")[0]
    done = _run(sarif, BAD)
    assert done.exit_code == 0
    assert '"version": "2.1.0"' in done.stdout


def test_docs_list_every_rule_with_a_bad_and_a_good_example() -> None:
    text = (ROOT / "docs" / "check.md").read_text()
    sections = re.split(r"^### ", text, flags=re.M)[1:]
    documented = {s.split("\n", 1)[0].strip("` ").split()[0].strip("`"): s for s in sections}
    assert set(RULES) <= set(documented)
    for rule in RULES.values():
        body = documented[rule.id]
        assert f"**{rule.severity.label}**" in body, rule.id
        assert "Bad:" in body, rule.id
        assert "Good:" in body, rule.id
    assert "README" not in documented
    readme = (ROOT / "README.md").read_text()
    assert "docs/check.md" in readme
