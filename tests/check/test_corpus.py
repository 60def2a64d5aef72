"""The corpus: small FastAPI, Flask, Django and Celery projects with planted mistakes (each
listed in the project's expected.json, rule + path + line) and clean twins that must stay silent.
Precision and recall over the whole corpus are in docs/check.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tripod.check import RULES, Options, run

CORPUS = Path(__file__).resolve().parents[1] / "check_corpus"
PROJECTS = sorted(p for p in CORPUS.iterdir() if p.is_dir())

Key = tuple[str, str, int]


def _found(project: Path) -> set[Key]:
    report = run([project], Options())
    return {
        (f.rule, Path(f.path).resolve().relative_to(project).as_posix(), f.line)
        for f in report.findings
    }


def _expected(project: Path) -> set[Key]:
    items = json.loads((project / "expected.json").read_text())
    return {(i["rule"], i["path"], i["line"]) for i in items}


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[set[Key], set[Key]]]:
    return {p.name: (_found(p), _expected(p)) for p in PROJECTS}


def test_the_corpus_has_each_framework_bad_and_clean() -> None:
    names = {p.name for p in PROJECTS}
    for framework in ("fastapi", "flask", "django", "celery"):
        assert {f"{framework}_bad", f"{framework}_clean"} <= names


@pytest.mark.parametrize("project", [p.name for p in PROJECTS])
def test_every_planted_mistake_is_found_and_nothing_else(
    results: dict[str, tuple[set[Key], set[Key]]], project: str
) -> None:
    found, expected = results[project]
    assert sorted(expected - found) == [], "missed"
    assert sorted(found - expected) == [], "false positives"
    if project.endswith("_clean"):
        assert found == set()


def test_precision_and_recall_over_the_corpus(
    results: dict[str, tuple[set[Key], set[Key]]],
) -> None:
    found = {(name, *k) for name, (f, _) in results.items() for k in f}
    expected = {(name, *k) for name, (_, e) in results.items() for k in e}
    true = found & expected
    precision = len(true) / len(found)
    recall = len(true) / len(expected)
    assert (precision, recall) == (1.0, 1.0)
    assert len(expected) >= 60


def test_the_corpus_plants_every_rule() -> None:
    planted = {i["rule"] for p in PROJECTS for i in json.loads((p / "expected.json").read_text())}
    assert planted <= set(RULES)
    assert planted == set(RULES)
