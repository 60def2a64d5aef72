"""tripod's rule commands against the oracle, Debian's promtool 2.42: the same verdict on every
corpus file (and, for unit tests, on every test group alone), and the same report text where
promtool's text is not a Go decoder's message."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tripod.server.rules import GoTemplateExpander, check_rule_files, check_template
from tripod.server.rules import run_test_files as run_tests

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="needs promtool (Debian prometheus)")

CORPUS = Path(__file__).parent / "corpus"
TEST_FILES = sorted((CORPUS / "tests").glob("*.yml"))
CHECK_FILES = sorted((CORPUS / "check").glob("*.yml"))
# promtool prints Go decoder errors (yaml, series notation) in words we do not copy.
_DECODER_WORDS = ("yaml:", "parse error", "unmarshal")


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _tripod_test(path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_tests(
        [path.name] if path.parent == Path.cwd() else [str(path)],
        out,
        err,
        expander=GoTemplateExpander(),
        template_check=check_template,
    )
    return code, out.getvalue() + err.getvalue()


def test_corpus_is_big_enough() -> None:
    assert len(TEST_FILES) >= 25
    assert sum(p.name.startswith("fail_") for p in TEST_FILES) >= 10
    assert len(CHECK_FILES) >= 20


@pytest.mark.parametrize("path", TEST_FILES, ids=[p.stem for p in TEST_FILES])
def test_unit_test_file_verdict_matches_promtool(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(path.parent)
    want = _promtool("test", "rules", path.name, cwd=path.parent)
    code, text = _tripod_test(path)
    assert want.returncode in {0, 1}
    assert (want.returncode == 0) == path.name.startswith("pass_"), "the corpus file's name lies"
    assert code == want.returncode, text
    promtool_text = want.stdout + want.stderr
    if not any(word in promtool_text for word in _DECODER_WORDS):
        assert sorted(text.splitlines()) == sorted(promtool_text.splitlines())


def _single_group_files(path: Path, into: Path) -> list[Path]:
    doc = next(yaml.safe_load_all(path.read_text()), None)  # the first document, as Go reads
    if not isinstance(doc, dict) or not isinstance(doc.get("tests"), list):
        return []
    rule_files = [str((path.parent / f).resolve()) for f in doc.get("rule_files") or []]
    out = []
    for i, group in enumerate(doc["tests"]):
        single = {**doc, "rule_files": rule_files, "tests": [group]}
        target = into / f"{path.stem}__{i}.yml"
        target.write_text(yaml.safe_dump(single, sort_keys=False))
        out.append(target)
    return out


@pytest.mark.parametrize("path", TEST_FILES, ids=[p.stem for p in TEST_FILES])
def test_each_test_group_verdict_matches_promtool(path: Path, tmp_path: Path) -> None:
    for single in _single_group_files(path, tmp_path):
        want = _promtool("test", "rules", str(single), cwd=tmp_path)
        code, text = _tripod_test(single)
        assert code == want.returncode, f"{single.name}: {text}"


@pytest.mark.parametrize("path", CHECK_FILES, ids=[p.stem for p in CHECK_FILES])
def test_rules_check_verdict_matches_promtool(path: Path) -> None:
    want = _promtool("check", "rules", path.name, cwd=path.parent)
    out, err = io.StringIO(), io.StringIO()
    code = check_rule_files([str(path)], out, err, template_check=check_template)
    assert (want.returncode == 0) == path.name.startswith("good_"), "the corpus file's name lies"
    assert code == want.returncode, err.getvalue()
    if code:  # one line per problem, each at file:line:column
        lines = err.getvalue().splitlines()
        assert lines[0] == "  FAILED:"
        assert all(line.startswith(f"{path}:") for line in lines[1:]), lines
