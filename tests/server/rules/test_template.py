"""Template errors, refusals and the API the rule evaluator codes against.

What a template renders to is pinned against promtool in test_template_oracle.py; this module
checks what must be refused (at load or at render) and how the errors read.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tripod.server.rules.template import (
    QuerySample,
    Template,
    TemplateData,
    TemplateError,
    compile_template,
)

DATA = TemplateData(labels={"job": "api", "instance": "h:9090"}, value=1.5)

# Bad syntax: (template, the position we report, what we say). promtool refuses each too.
BAD_SYNTAX = [
    ("{{ $value", "1:1", "unclosed action"),
    ("{{ foo }}", "1:4", 'function "foo" not defined'),
    ("{{ $x }}", "1:4", 'undefined variable "$x"'),
    ("{{ end }}", "1:4", "unexpected {{end}}"),
    ("{{ else }}", "1:4", "unexpected {{else}}"),
    ("{{ if true }}x", "1:15", "unexpected EOF"),
    ("{{ 1 | 2 }}", "1:8", "non executable command in pipeline stage 2"),
    ('{{ "abc }}', "1:4", "unterminated quoted string"),
    ("{{/* x }}", "1:1", "unclosed comment"),
    ("{{ range $a, $b, $c := . }}{{end}}", "1:16", "too many declarations in range"),
    ("{{ if }}{{ end }}", "1:7", "missing value for if"),
    ("{{ }}", "1:4", "missing value for command"),
    ("{{ with $x := 1 }}{{ end }}{{ $x }}", "1:31", 'undefined variable "$x"'),
    ('{{ "\\q" }}', "1:4", "invalid syntax"),
    ("{{ 3.x }}", "1:4", "bad number syntax"),
    ("a {{ /* no */ }}", "1:6", "unexpected '/' in command"),
    ('{{ printf "%d" 1 ) }}', "1:18", "unexpected ')'"),
    ("{{ (1 }}", "1:7", "in parenthesized pipeline"),
    ("line one\n  {{ if $labels.job }}\n    {{ humanize $nope }}\n{{ end }}", "3:17", "$nope"),
]


@pytest.mark.parametrize(("text", "where", "what"), BAD_SYNTAX)
def test_bad_syntax_is_refused_at_compile_with_position(text: str, where: str, what: str) -> None:
    with pytest.raises(TemplateError) as info:
        compile_template(text, name="summary")
    message = str(info.value)
    assert message.startswith(f"template summary:{where}: "), message
    assert what in message


def _promtool_check(tmp_path: Path, annotation: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found on PATH: install Debian's prometheus package (`make apt`)")
    rule = {"alert": "A", "expr": "up", "annotations": {"summary": annotation}}
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [rule]}]}))
    return subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.prometheus
@pytest.mark.parametrize("text", [text for text, _, _ in BAD_SYNTAX])
def test_promtool_check_rules_refuses_the_same_syntax(tmp_path: Path, text: str) -> None:
    done = _promtool_check(tmp_path, text)
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'annotation "summary"' in done.stdout + done.stderr


@pytest.mark.prometheus
@pytest.mark.parametrize(
    "text",
    [
        "{{ . | }}",  # Go accepts a trailing pipe
        "{{ $value := 1 }}{{ $y := 2 }}{{ $y = 3 }}",
        "{{- /* comment */ -}} {{ `raw {{ }}` }}",
        "{{ range $i, $e := query `up` }}{{ else }}{{ end }}",
    ],
)
def test_odd_but_valid_syntax_compiles_like_promtool(tmp_path: Path, text: str) -> None:
    assert _promtool_check(tmp_path, text).returncode == 0
    compile_template(text, name="t")


@pytest.mark.parametrize(
    "text",
    [
        "{{ toTime 1 }}",
        "{{ parseDuration `1m` }}",
        "{{ 1 | pathPrefix }}",
        "{{ externalURL }}",
        '{{ urlquery "a b" }}',
        '{{ html "<" }}',
        "{{ graphLink `up` }}",
        '{{ stripDomain "a.b:1" }}',
        "{{ call . }}",
    ],
)
def test_functions_outside_the_subset_are_refused_naming_the_function(text: str) -> None:
    with pytest.raises(TemplateError) as info:
        compile_template(text, name="t")
    message = str(info.value)
    name = text.split()[1] if not text.startswith("{{ 1 |") else "pathPrefix"
    assert f'function "{name}" is not supported' in message
    assert "supported: and, args, eq, first" in message
    assert "humanizePercentage" in message


@pytest.mark.parametrize("keyword", ["define", "template", "block", "break", "continue"])
def test_template_definitions_and_loop_control_are_refused(keyword: str) -> None:
    with pytest.raises(TemplateError, match=f"{{{{{keyword}}}}} is not supported"):
        compile_template(f'{{{{ {keyword} "x" }}}}{{{{ end }}}}', name="t")


@pytest.mark.parametrize(
    "text",
    ["{{ __import__ }}", "{{ eval `1` }}", "{{ exec }}", "{{ format_map . }}", "{{ getattr . }}"],
)
def test_python_names_are_just_undefined_functions(text: str) -> None:
    with pytest.raises(TemplateError, match="not defined"):
        compile_template(text, name="t")


def test_python_attributes_are_not_reachable() -> None:
    labels = compile_template("[{{ $labels.__class__ }}][{{ .Labels.__dict__ }}]", name="t")
    assert labels.render(DATA) == "[][]"  # map keys, missing: Go's zero value
    with pytest.raises(TemplateError, match="can't evaluate field __class__ in type float64"):
        compile_template("{{ $value.__class__ }}", name="t").render(DATA)
    with pytest.raises(TemplateError, match="can't evaluate field __init__ in type struct"):
        compile_template("{{ .__init__ }}", name="t").render(DATA)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('{{ printf "%#v" 1 }}', "'#' flag"),
        ('{{ printf "%*d" 3 1 }}', "'*' width"),
        ('{{ printf "%[1]d" 1 }}', "%[n]"),
        ('{{ printf "%x" 1.5 }}', "%x of a float64 is not supported"),
        ("{{ query `up` }}", "a query result has no printed form"),
    ],
)
def test_unsupported_printing_fails_at_render_with_a_reason(text: str, what: str) -> None:
    template = compile_template(text, name="t")
    data = TemplateData(labels={}, value=0.0, query=lambda q: [QuerySample({"a": "b"}, 1.0)])
    with pytest.raises(TemplateError) as info:
        template.render(data)
    assert what in str(info.value)
    assert str(info.value).startswith(
        'error executing template t: template: t:1:115: executing "t"'
    )


def test_query_errors_and_a_missing_query_function() -> None:
    class EngineError(Exception):  # the evaluator's own error type, not a ValueError
        pass

    def failing(query: str) -> list[QuerySample]:
        msg = f"parse error in {query!r}"
        raise EngineError(msg)

    template = compile_template('{{ query "up{" | first | value }}', name="t")
    with pytest.raises(TemplateError, match=r"error calling query: parse error in 'up\{'"):
        template.render(TemplateData(labels={}, value=0.0, query=failing))
    with pytest.raises(TemplateError, match="error calling query"):
        template.render(TemplateData(labels={}, value=0.0))


def test_query_results_keep_the_callers_order_and_sort_by_label() -> None:
    samples = [QuerySample({"pod": p}, float(i)) for i, p in enumerate(["c", "a", "b"])]
    data = TemplateData(labels={}, value=0.0, query=lambda q: samples)
    text = "{{ range query `x` }}{{ .Labels.pod }}{{ end }}|"
    text += "{{ range query `x` | sortByLabel `pod` }}{{ .Labels.pod }}{{ value . }}{{ end }}"
    assert compile_template(text, name="t").render(data) == "cab|a1b2c0"


def test_is_static_and_static_text_is_returned_unchanged() -> None:
    for text in ["", "plain text", "a } b { c", "50% {not a template}"]:
        template = compile_template(text, name="t")
        assert template.is_static()
        assert template.render(DATA) == text
    for text in ["{{ $value }}", "{{/* only a comment */}}", "x {{- ` ` }}"]:
        assert not compile_template(text, name="t").is_static()
    assert compile_template("a{{/* c */}}b", name="t").render(DATA) == "ab"


def test_template_data_defaults_and_types() -> None:
    data = TemplateData(labels={"a": "1"}, value=2)
    text = "{{ $externalURL }}|{{ $externalLabels }}|{{ $value }}|{{ .Value }}|{{ $labels.a }}"
    assert compile_template(text, name="t").render(data) == "|map[]|2|2|1"
    assert isinstance(compile_template("x", name="t"), Template)


def test_variables_are_scoped_to_their_block_and_reassignable() -> None:
    text = (
        "{{ $n := 0 }}{{ range $k, $v := $labels }}{{ $n = $k }}{{ $in := 1 }}{{ end }}"
        "{{ $n }}{{ with $labels.job }}{{ $j := . }}{{ $j }}{{ end }}"
        "{{ $value := 7 }}{{ $value }}"
    )
    assert compile_template(text, name="t").render(DATA) == "jobapi7"  # promtool: the same
    with pytest.raises(TemplateError, match='undefined variable "\\$in"'):
        compile_template("{{ range $labels }}{{ $in := 1 }}{{ end }}{{ $in }}", name="t")


def test_go_type_rules_for_comparisons_and_arguments() -> None:
    cases = {
        "{{ gt $value 1 }}": "incompatible types for comparison",  # float64 vs int, as in Go
        "{{ lt true false }}": "invalid type for comparison",
        '{{ eq "a" }}': "missing argument for comparison",
        "{{ title 1 }}": "expected string; found 1",
        "{{ len $value }}": "len of type float64",
        "{{ index $labels 1 }}": "value has type int; should be string",
        "{{ not 1 2 }}": "wrong number of args for not: want 1 got 2",
        "{{ humanize true }}": "can't convert bool to float",
        "{{ 1 2 }}": "can't give argument to non-function",
        "{{ nil }}": "nil is not a command",
        '{{ reReplaceAll "(" "" "x" }}': "regexp",
    }
    for text, what in cases.items():
        with pytest.raises(TemplateError) as info:
            compile_template(text, name="t").render(DATA)
        assert what in str(info.value), (text, str(info.value))
    assert compile_template("{{ gt $value 1.0 }} {{ gt $value 1e0 }}", name="t").render(DATA) == (
        "true true"
    )


TOKENS = [
    "{{", "}}", "{{- ", " -}}", " ", "$value", "$labels", ".Labels", ".job", "$x", ":=", "=", "|",
    "(", ")", '"a"', "`r`", "1", "1.5", "-2", "if", "else", "end", "range", "with", "printf",
    '"%d %s %v %.2f %5q"', "humanize", "first", "query", '"up"', "value", "label", "index", "len",
    "eq", "lt", "and", "or", "not", "nil", "true", "/*", "*/", ",", "$i", "$e", "title",
    "reReplaceAll", '"(a*)"', '"$1"', "args", ".arg0", "sortByLabel", "'c'", "0x1", "$", ".",
    "print", "\n", "toTime", "define", "humanizeTimestamp", "1e300", "strvalue", "match", '"["',
]  # fmt: skip


def test_generated_garbage_only_ever_raises_template_error() -> None:
    """Random token soup never leaks another exception type, at compile or at render."""
    rng = random.Random(42)
    data = TemplateData({"job": "x"}, 1.5, query=lambda q: [QuerySample({"a": "b"}, 2.0)])
    rendered = 0
    messages: list[str] = []
    for _ in range(3000):
        body = "".join(rng.choice(TOKENS) + rng.choice(["", " "]) for _ in range(rng.randint(1, 9)))
        text = rng.choice(["{{ ", "x {{- ", "{{"]) + body + rng.choice([" }}", "}}", " -}} y", ""])
        try:
            compile_template(text, name="fuzz").render(data)
            rendered += 1
        except TemplateError as exc:
            messages.append(str(exc))
    compiling, executing = "template fuzz:", "error executing template fuzz: template: fuzz:"
    assert all(m.startswith((compiling, executing)) for m in messages)
    refused = len(messages)
    assert rendered > 10
    assert refused > 1000


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        ("(a)\\\\1", "backreferences"),
        ("a(?=b)", "lookaround"),
        ("(?<n>a)", "lookaround"),
        ("a\\\\Z", "\\Z"),
        ("\\\\pL", "does not translate"),
        ("[[:alpha:]]", "does not translate"),
        ("(", "regexp: Compile"),
    ],
)
def test_regexps_go_would_read_differently_are_refused(pattern: str, what: str) -> None:
    template = compile_template(f'{{{{ reReplaceAll "{pattern}" "x" "abc" }}}}', name="t")
    with pytest.raises(TemplateError) as info:
        template.render(DATA)
    assert "error calling reReplaceAll" in str(info.value)
    assert what in str(info.value)


SYNTAX_TOKENS = [
    "{{", "}}", "{{- ", " -}}", " ", "$value", "$labels", ".Labels", ".job", "$x", ":=", "=", "|",
    "(", ")", '"a"', "`r`", "1", "1.5", "-2", "if", "else", "end", "range", "with", "printf",
    '"%d"', "humanize", "first", "query", "value", "index", "len", "eq", "and", "not", "nil",
    "true", "/*", "*/", ",", "$i", "$e", "'c'", "0x1", "$", ".", "print", "\n", "1e3", "x", "$y",
    ".5", "5.", "1_0", "0b1", "'\\n'", '"\\t"',
]  # fmt: skip


@pytest.mark.prometheus
def test_compile_accepts_exactly_what_promtool_check_rules_accepts(tmp_path: Path) -> None:
    """Generated token soup: every template we refuse, promtool refuses, and vice versa."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found on PATH: install Debian's prometheus package (`make apt`)")
    rng = random.Random(3)
    texts = []
    for _ in range(600):
        body = "".join(
            rng.choice(SYNTAX_TOKENS) + rng.choice(["", " "]) for _ in range(rng.randint(1, 8))
        )
        start = rng.choice(["{{ ", "x {{- ", "{{", "{{ if true }}{{ "])
        texts.append(start + body + rng.choice([" }}", "}}", " -}} y", "", " }}{{ end }}"]))
    rules = [{"alert": f"A{i}", "expr": "up", "annotations": {"t": t}} for i, t in enumerate(texts)]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]}))
    done = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    refused_by_promtool = {int(n) - 1 for n in re.findall(r'rule (\d+), "A', done.stderr)}
    refused_by_us = set()
    for i, text in enumerate(texts):
        try:
            compile_template(text, name="t")
        except TemplateError:
            refused_by_us.add(i)
    assert 30 < len(refused_by_promtool) < len(texts) - 30
    disagree = sorted(refused_by_promtool ^ refused_by_us)
    assert not disagree, [texts[i] for i in disagree]
