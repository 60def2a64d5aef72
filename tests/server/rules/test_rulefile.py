"""Rule files parsed and validated as Prometheus 2.42's rulefmt does, every problem at
file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripod.server.rules import RuleFileError, check_template, load_rule_files, parse_rules


def test_a_full_file_parses_into_groups_and_rules() -> None:
    text = """
groups:
  - name: g
    interval: 1m30s
    limit: 5
    rules:
      - record: job:x:sum
        expr: sum by (job) (x)
        labels: {a: "1"}
      - alert: X
        expr: x > 0
        for: 5m
        keep_firing_for: 1h
        labels: {severity: page}
        annotations: {summary: "{{ $labels.job }}"}
"""
    [group], problems = parse_rules(text, "f.yml", check_template)
    assert problems == []
    assert (group.name, group.interval_ms, group.limit, group.line) == ("g", 90_000, 5, 3)
    record, alert = group.rules
    assert (record.kind, record.name, record.labels, record.line) == (
        "record",
        "job:x:sum",
        {"a": "1"},
        7,
    )
    assert (alert.kind, alert.for_ms, alert.keep_firing_for_ms) == ("alert", 300_000, 3_600_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("groups:\n- name: g\n  query_offset: 1m\n", "f.yml:3:3: field query_offset not found"),
        ("groups:\n- name: g\n  rules:\n  - record: a-b\n    expr: up\n", "f.yml:4:13: group"),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up(\n",
            "could not parse expression",
        ),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    for: 5\n", "f.yml:6:10"),
        ("groups:\n- name: g\n- name: g\n", 'f.yml:3:3: groupname: "g" is repeated'),
        ("groups: [\n", "f.yml:2:1: yaml:"),
    ],
)
def test_problems_name_the_line_and_the_reason(text: str, expected: str) -> None:
    groups, problems = parse_rules(text, "f.yml", check_template)
    assert groups == []
    assert any(expected in str(p) for p in problems), [str(p) for p in problems]


def test_template_errors_are_refused_at_load() -> None:
    text = (
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels: {x: '{{ nope }}'}\n"
    )
    _, problems = parse_rules(text, "f.yml", check_template)
    assert len(problems) == 1
    assert "label 'x':" in problems[0].reason


def test_load_rule_files_lists_every_problem_of_every_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text("groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n")
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: g\n  rules:\n  - record: a\n    alert: b\n    expr: ''\n")
    assert [g.name for g in load_rule_files([good])] == ["g"]
    with pytest.raises(RuleFileError) as info:
        load_rule_files([good, bad, tmp_path / "missing.yml"])
    reasons = [p.reason for p in info.value.problems]
    assert any("only one of 'record' and 'alert' must be set" in r for r in reasons)
    assert any("field 'expr' must be set in rule" in r for r in reasons)
    assert any("cannot read the file" in r for r in reasons)
