"""The output formats on a project with many rules firing: SARIF validated against the official
2.1.0 schema, GitHub workflow commands, checkstyle XML, JSON and text."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from tripod.check import Finding, Options, Severity, run
from tripod.check._output import FORMATS

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent / "check_corpus" / "fastapi_bad"


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    found = run([PROJECT], Options()).findings
    assert len(found) > 30
    return found


def test_sarif_validates_against_the_2_1_0_schema(findings: list[Finding]) -> None:
    schema = json.loads((HERE / "sarif-schema-2.1.0.json").read_text())
    log = json.loads(FORMATS["sarif"](findings))
    checker = jsonschema.Draft4Validator.FORMAT_CHECKER
    jsonschema.Draft4Validator(schema, format_checker=checker).validate(log)
    run_ = log["runs"][0]
    assert len(run_["results"]) == len(findings)
    ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert all(ids[r["ruleIndex"]] == r["ruleId"] for r in run_["results"])
    levels = {r["level"] for r in run_["results"]}
    assert levels == {"note", "warning", "error"}


def test_sarif_of_no_findings_validates() -> None:
    schema = json.loads((HERE / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(json.loads(FORMATS["sarif"]([])))


def test_github_annotations_escape_and_map_severities() -> None:
    finding = Finding("a,b:c.py", 3, 7, "log-secret", Severity.BUG, "50% of x\nsecond", "hint")
    line = FORMATS["github"]([finding])
    assert line == (
        "::error file=a%2Cb%3Ac.py,line=3,col=7,title=log-secret::50%25 of x%0Asecond (hint: hint)"
    )
    info = Finding("a.py", 1, 1, "log-fstring", Severity.INFO, "m", "h")
    warn = Finding("a.py", 1, 1, "alert-for", Severity.WARNING, "m", "h")
    assert FORMATS["github"]([info, warn]).splitlines()[0].startswith("::notice file=a.py")
    assert FORMATS["github"]([info, warn]).splitlines()[1].startswith("::warning file=a.py")


def test_checkstyle_is_xml_with_one_error_per_finding(findings: list[Finding]) -> None:
    root = ET.fromstring(FORMATS["checkstyle"](findings))
    errors = root.findall("./file/error")
    assert len(errors) == len(findings)
    assert {e.get("severity") for e in errors} == {"info", "warning", "error"}
    assert all(e.get("source", "").startswith("tripod.check.") for e in errors)


def test_json_and_text_list_every_finding(findings: list[Finding]) -> None:
    items = json.loads(FORMATS["json"](findings))
    assert [i["rule"] for i in items] == [f.rule for f in findings]
    text = FORMATS["text"](findings).splitlines()
    assert text[-1] == f"{len(findings)} findings"
    assert text[0].startswith(f"{findings[0].path}:{findings[0].line}:{findings[0].col}: ")
