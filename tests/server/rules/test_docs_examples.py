"""The rule file and the unit test shown in docs/alerting.md pass, in tripod and in promtool."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tripod.server.rules import GoTemplateExpander, check_rule_files, check_template, run_test_files

DOC = Path(__file__).parents[3] / "docs" / "alerting.md"


def _first_yaml_block(section: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(section)
    found = re.search(r"```yaml\n(.*?)```", text[start:], re.DOTALL)
    assert found is not None
    return found.group(1)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    rules = tmp_path / "rules" / "http.yml"
    rules.write_text(_first_yaml_block("## Rules: files"))
    test = tmp_path / "tests" / "http_test.yml"
    test.write_text(_first_yaml_block("## Rules: unit tests"))
    return rules, test


def test_the_documented_examples_pass(files: tuple[Path, Path]) -> None:
    rules, test = files
    out, err = io.StringIO(), io.StringIO()
    assert check_rule_files([str(rules)], out, err, template_check=check_template) == 0, err
    code = run_test_files(
        [str(test)], out, err, expander=GoTemplateExpander(), template_check=check_template
    )
    assert code == 0, err.getvalue()
    promtool = shutil.which("promtool")
    if promtool is not None:
        for args in (["check", "rules", str(rules)], ["test", "rules", str(test)]):
            done = subprocess.run([promtool, *args], capture_output=True, timeout=60, check=False)
            assert done.returncode == 0, done.stderr
