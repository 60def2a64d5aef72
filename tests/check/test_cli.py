"""``tripod check`` as a user runs it: exit codes, usage errors in one line, suppressions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from tripod.cli import cli

BAD_PY = textwrap.dedent(
    """\
    from prometheus_client import Counter

    REFUNDS = Counter("shop_refunds_total", "Refunds issued.")
    """
)


def _run(*args: str, cwd: Path) -> tuple[int, str, str]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, ["check", *args])
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "app.py").write_text(BAD_PY)
    return tmp_path


def test_a_finding_at_bug_level_exits_1_and_json_lists_it(project: Path) -> None:
    code, out, _ = _run("--format", "json", ".", cwd=project)
    assert code == 1
    findings = json.loads(out)
    assert [(f["rule"], f["path"], f["line"], f["severity"]) for f in findings] == [
        ("never-recorded", "app.py", 3, "bug")
    ]
    assert set(findings[0]) == {"rule", "severity", "path", "line", "col", "message", "hint"}


def test_fail_on_and_ignore_decide_the_exit_code(project: Path) -> None:
    assert _run("--fail-on", "fatal", ".", cwd=project)[0] == 0
    assert _run("--ignore", "never-recorded", ".", cwd=project)[0] == 0
    assert _run("--select", "naming-help", ".", cwd=project)[0] == 0


def test_suppression_comment_on_the_line_or_above_or_file_wide(project: Path) -> None:
    app = project / "app.py"
    app.write_text(
        BAD_PY.replace('Refunds issued.")', 'Refunds issued.")  # tripod: ignore[never-recorded]')
    )
    assert _run(".", cwd=project)[0] == 0
    app.write_text(BAD_PY.replace("REFUNDS =", "# tripod: ignore[never-recorded]\nREFUNDS ="))
    assert _run(".", cwd=project)[0] == 0
    app.write_text("# tripod: ignore-file[never-recorded]\n" + BAD_PY)
    assert _run(".", cwd=project)[0] == 0
    app.write_text(
        BAD_PY.replace('Refunds issued.")', 'Refunds issued.")  # tripod: ignore[naming-help]')
    )
    assert _run(".", cwd=project)[0] == 1


def test_yaml_suppression(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    body = (
        "groups:\n  - name: g\n    rules:\n      - record: a:b:rate5m\n"
        "        expr: rate(x[5m]){}\n"
    )
    rules.write_text(body.format(""))
    code, out, _ = _run("--format", "json", str(rules), cwd=tmp_path)
    assert code == 1
    assert json.loads(out)[0]["rule"] == "rate-non-counter"
    rules.write_text(body.format("  # tripod: ignore[rate-non-counter]"))
    assert _run(str(rules), cwd=tmp_path)[0] == 0


@pytest.mark.parametrize(
    ("args", "pyproject", "needle"),
    [
        (["--select", "no-such-rule", "."], "", "unknown rule 'no-such-rule'"),
        (["missing-folder"], "", "missing-folder: no such file or folder"),
        (["."], "[tool.tripod.check]\nfail_on = 'loud'\n", "unknown severity 'loud'"),
        (["."], "[tool.tripod.check]\nselec = ['x']\n", "'selec': unknown key"),
        (["."], "[tool.tripod.check]\nignore = 'x'\n", "expected a list of strings"),
        (["."], "[tool.tripod.check]\nscrape-interval = 'often'\n", "expected a duration"),
        (["--base", "main", "."], "", "--base needs --changed-only"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path, args: list[str], pyproject: str, needle: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(pyproject)
    code, _out, err = _run(*args, cwd=tmp_path)
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_pyproject_config_is_read(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.tripod.check]\nignore = ['never-recorded']\n")
    assert _run(".", cwd=project)[0] == 0
    (project / "pyproject.toml").write_text("[tool.tripod.check]\nfail-on = 'fatal'\n")
    assert _run(".", cwd=project)[0] == 0


def test_the_console_script_runs_it(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tripod", "check", "--format", "github", "."],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("::error file=app.py,line=3,col=11,title=never-recorded::")


def test_json_dashboards_take_the_marker_in_a_string(tmp_path: Path) -> None:
    board = {
        "title": "B",
        "templating": {"list": [{"name": "datasource", "type": "datasource"},
                                {"name": "job", "type": "query"},
                                {"name": "instance", "type": "query"}]},
        "panels": [{"type": "timeseries", "title": "T",
                    "description": "D",
                    "datasource": {"uid": "${datasource}"},
                    "fieldConfig": {"defaults": {"unit": "s"}},
                    "targets": [{"expr": "rate(x_total[5m])"}]}],
    }  # fmt: skip
    path = tmp_path / "board.json"
    path.write_text(json.dumps(board, indent=1))
    code, out, _ = _run("--format", "json", "--fail-on", "warning", ".", cwd=tmp_path)
    assert code == 1
    assert [f["rule"] for f in json.loads(out)] == ["dashboard-rate-interval"]
    board["panels"][0]["description"] = "D # tripod: ignore-file[dashboard-rate-interval]"  # type: ignore[index]
    path.write_text(json.dumps(board, indent=1))
    assert _run("--fail-on", "warning", ".", cwd=tmp_path)[0] == 0


def test_garbage_input_gives_findings_or_silence_never_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "syntax.py").write_text("def (:\n")
    (tmp_path / "latin1.py").write_bytes("s = 'caf\xe9'\n".encode("latin-1"))
    (tmp_path / "list.json").write_text('[{"panels": 1}]')
    (tmp_path / "odd.json").write_text('{"title": 1, "panels": [1, {"type": "row", "panels": 2}],'
                                       ' "templating": [], "x": "\\"panels\\""}')  # fmt: skip
    (tmp_path / "broken.json").write_text('{"panels": [')
    (tmp_path / "tabs.yml").write_text("groups:\n\t- name: x\n")
    (tmp_path / "weird.yml").write_text("groups: 3\nscrape_interval: [1]\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "rules.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: 'sum('\n"
        "      - record: 5\n        expr: {a: 1}\n      - 7\n"
    )
    result = CliRunner().invoke(cli, ["check", "--format", "json", str(tmp_path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 1
    rules = sorted(f["rule"] for f in json.loads(result.stdout))
    assert rules == [
        "alert-annotations", "alert-for", "alert-labels", "dashboard-template-datasource",
        "dashboard-template-job", "promql-syntax", "rule-yaml",
    ]  # fmt: skip
