"""Templates against the oracle: each case's expected text in test_template_cases.yml was produced
by Prometheus 2.42 itself (`promtool test rules`), and `test_promtool_agrees` re-checks every case
against promtool on each run, using the renderer's own output as `exp_annotations`. Random values
check the number formatting (humanize*, printf, `$value`) the same way.
"""

from __future__ import annotations

import math
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.server.promql.memstore import MemStore
from tripod.server.promql import Engine
from tripod.server.rules.template import (
    QuerySample,
    TemplateData,
    TemplateError,
    compile_template,
)

NAN = math.nan
SERIES_LABELS = {"job": "api", "instance": "host-1:9090", "path": "/v1/users"}
EXTERNAL_LABELS = {"cluster": "eu1"}
EXTERNAL_URL = "http://tripod.example:9090"
QUERY_SERIES = [({"job": "a", "code": "500"}, 5.0), ({"job": "b", "code": "200"}, 7.0)]

CASES_FILE = Path(__file__).with_name("test_template_cases.yml")
# (template, $value, what Prometheus 2.42 renders)
CASES: list[tuple[str, float, str]] = [
    (case["template"], float(case["value"]), case["want"])
    for case in yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
]

# Templates that fail to expand: Prometheus's annotation is "<error expanding template: {ours}>".
ERROR_CASES = [
    '{{ humanize "abc" }}',
    "{{ $labels.job.x }}",
    '{{ query "nothing_here" | first }}',
    "{{ toUpper $value }}",
    '{{ printf "%s" (index $labels) | len | humanize | toUpper | eq 1 }}',
    '{{ humanize "abcdefghijklmnopqrstuvwxyz" }}',
    '{{ printf "%s" 1 | humanize }}',
    "{{ toUpper 1.5 }}",
    "{{ $x := 1 }}{{ toUpper $x }}",
    "{{ 1 | toUpper }}",
    "a\n b{{ .Foo }}",
    "{{ with .Labels }}{{ index . 1 }}{{ end }}",
    "{{ range 1.5 }}{{end}}",
    "{{ if .Labels.job }}{{ nil }}{{ end }}",
    "{{ 1 2 }}",
    "{{ not }}",
    '{{ label "x" 1 }}',
    "{{ $value | toUpper }}",
    "line 1\nline 2 {{ gt $value 1 }} é {{ humanizeDuration `x` }}",
    "{{ with $labels }}\n  {{- range $k, $v := . }}{{ $v.x }}{{ end }}{{ end }}",
    '{{ reReplaceAll "(" "x" "y" }}',
    '{{ reReplaceAll "a)" "x" "y" }}{{ reReplaceAll "[a" "x" "y" }}',
    '{{ match "*a" "y" }}',
    '{{ match "x[a" "y" }}',
    "{{ (query `http_requests{job='a'}` | first).Nope }}",
    "{{ printf }}",
    '{{ index $labels "job" 3 }}',
    "{{ index (query `http_requests`) 2 }}",
    "{{ index $labels.job 1.0 }}",
    "{{ len 3 }}",
    "{{ len nil }}",
    "{{ index $labels nil }}{{ index `ab` nil }}",
    '{{ query "up{" }}',  # the PromQL engine's error, in the template's error
    '{{ safeHtml "x" | toUpper }}',
    '{{ humanize (printf "%q" $labels) }}',
    "{{ ne $labels (args 1) }}",
    "{{ eq $labels (query `http_requests{job='a'}` | first) }}",
    "{{ first (query `nothing_here`) | value }}",
]


def _query_engine() -> Engine:
    store = MemStore()
    for labels, value in QUERY_SERIES:
        store.add("http_requests", labels, [(0, value)])
    return Engine(store)


def _data(index: int, value: float, engine: Engine) -> TemplateData:
    def query(text: str) -> list[QuerySample]:
        return [QuerySample(labels, v) for labels, v in engine.instant(text, 0).samples()]

    labels = {"__name__": f"case_{index:02d}", **SERIES_LABELS}
    return TemplateData(labels, value, EXTERNAL_LABELS, EXTERNAL_URL, query)


def _render(index: int, text: str, value: float, engine: Engine) -> str:
    name = f"__alert_Case{index:02d}"  # the name Prometheus gives an alert's templates
    return compile_template(text, name=name).render(_data(index, value, engine))


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=lambda x: str(x)[:40])
def test_render_matches_prometheus(index: int, case: tuple[str, float, str]) -> None:
    text, value, expected = case
    assert _render(index, text, value, _query_engine()) == expected


def _series_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _promtool(
    tmp_path: Path, templates: list[tuple[str, float]], annotations: list[str] | None
) -> str:
    """Write a rule file with one alert per template and a unit test expecting `annotations`
    (none: the test fails and promtool prints what it got); returns promtool's output."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found on PATH: install Debian's prometheus package (`make apt`)")
    rules, series, tests = [], [], []
    for i, (text, value) in enumerate(templates):
        rules.append(
            {"alert": f"Case{i:02d}", "expr": f"case_{i:02d}", "annotations": {"text": text}}
        )
        labels = ",".join(f'{k}="{v}"' for k, v in SERIES_LABELS.items())
        series.append({"series": f"case_{i:02d}{{{labels}}}", "values": _series_value(value)})
        alert: dict[str, object] = {"exp_labels": SERIES_LABELS}
        if annotations is not None:
            alert["exp_annotations"] = {"text": annotations[i]}
        tests.append({"eval_time": "0m", "alertname": f"Case{i:02d}", "exp_alerts": [alert]})
    for labels, value in QUERY_SERIES:
        selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
        series.append({"series": f"http_requests{{{selector}}}", "values": repr(value)})
    group = {"name": "g", "rules": rules}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [group]}))
    unit = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "external_labels": EXTERNAL_LABELS,
                "external_url": EXTERNAL_URL,
                "input_series": series,
                "alert_rule_test": tests,
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(unit))
    done = subprocess.run(
        [promtool, "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode == 0) == (annotations is not None), done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.mark.prometheus
def test_promtool_agrees(tmp_path: Path) -> None:
    assert len(CASES) >= 30
    engine = _query_engine()
    ours = [_render(i, text, value, engine) for i, (text, value, _) in enumerate(CASES)]
    _promtool(tmp_path, [(text, value) for text, value, _ in CASES], ours)


@pytest.mark.prometheus
def test_promtool_expansion_errors_agree(tmp_path: Path) -> None:
    """Every case fails to expand, in Prometheus with the very text tripod's error carries."""
    engine = _query_engine()
    out = _promtool(tmp_path, [(text, 1.0) for text in ERROR_CASES], None)
    pattern = r"alertname: Case(\d+).*?got:.*?Annotations:\{text=(\"(?:[^\"\\]|\\.)*\")\}"
    got = dict(re.findall(pattern, out, re.S))
    assert len(got) == len(ERROR_CASES), out
    for i, text in enumerate(ERROR_CASES):
        theirs = yaml.safe_load(
            got[f"{i:02d}"]
        )  # Go's quoting reads as a YAML double-quoted string
        with pytest.raises(TemplateError) as info:
            _render(i, text, 1.0, engine)
        assert theirs == f"<error expanding template: {info.value}>", text


def _random_values(count: int) -> list[float]:
    """Seeded values across magnitudes, signs and digit counts (for the formatting families)."""
    rng = random.Random(20260)
    out = [0.0, -0.0, 1.0, 0.5, 0.05, 999.95, 999.5, 1023.9, 1024.0, 59.9999, 86400.0, 1e-7]
    while len(out) < count:
        mantissa = rng.choice([rng.random(), round(rng.random(), rng.randint(0, 4))])
        value = mantissa * 10 ** rng.randint(-12, 24)
        out.append(-value if rng.random() < 0.2 else value)
    return out


@pytest.mark.prometheus
def test_promtool_agrees_on_number_formatting(tmp_path: Path) -> None:
    text = (
        "{{ $value }}|{{ humanize $value }}|{{ humanize1024 $value }}|"
        "{{ humanizeDuration $value }}|{{ humanizePercentage $value }}|"
        '{{ printf "%.3g|%e|%.2f|%g|%v" $value $value $value $value $value }}|'
        '{{ printf "%8.1e|%+.4f|%-9.3G|%05.1f" $value $value $value $value }}'
    )
    engine = _query_engine()
    values = _random_values(150)
    ours = [_render(i, text, value, engine) for i, value in enumerate(values)]
    _promtool(tmp_path, [(text, value) for value in values], ours)


@pytest.mark.prometheus
def test_promtool_agrees_on_timestamps(tmp_path: Path) -> None:
    rng = random.Random(7)
    values = [0.0, -1.5, 1e-3, 9.2e9, -9.2e9, -1e9, 1.0005, 1234567890.0019]
    values += [rng.uniform(-9e9, 9e9) for _ in range(40)] + [rng.uniform(0, 2e9) for _ in range(20)]
    text = "{{ humanizeTimestamp $value }}|{{ $value | humanizeTimestamp }}"
    engine = _query_engine()
    ours = [_render(i, text, value, engine) for i, value in enumerate(values)]
    _promtool(tmp_path, [(text, value) for value in values], ours)


_ATOMS = [
    "$value", "$labels", ".Labels", "$labels.job", ".Labels.instance", "$labels.nope", '"a"',
    '"api"', "`r`", "1", "1.5", "-2", "0", "true", "false", "nil", ".", "$", "'c'", "0x1F", "1e3",
    '""', "$externalURL", "$externalLabels", ".Value", '(args 1 "x")',
    "(query `http_requests` | sortByLabel `job`)", "(query `http_requests{job='a'}` | first)",
]  # fmt: skip
_CALLS = [
    "humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
    'printf "%v"', 'printf "%d|%s"', 'printf "%.2f"', 'printf "%5.1e %q"', "print", "len", "index",
    "eq", "ne", "lt", "gt", "le", "ge", "and", "or", "not", "title", "toUpper", "toLower", "first",
    "value", 'label "job"', "strvalue", 'sortByLabel "code"', 'match "a.*"',
    'reReplaceAll "a" "b"', "safeHtml", "stripPort", "args",
]  # fmt: skip


def _generated_templates(rng: random.Random, count: int) -> list[tuple[str, float]]:
    """Random pipelines over every function, most of them wrong in some Go-typed way."""

    def expr(depth: int) -> str:
        if rng.random() < 0.4 or depth > 2:
            return rng.choice(_ATOMS)
        args = " ".join(expr(depth + 1) for _ in range(rng.randint(0, 2)))
        text = f"{rng.choice(_CALLS)} {args}".strip()
        if rng.random() < 0.3:
            text = f"{expr(depth + 1)} | {text}"
        return f"({text})" if depth else text

    def template() -> str:
        parts = []
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if kind < 0.6:
                parts.append("{{ " + expr(0) + " }}")
            elif kind < 0.75:
                parts.append("{{ if " + expr(0) + " }}Y{{ else }}N{{ end }}")
            elif kind < 0.9:
                parts.append("{{ range $k, $v := " + expr(0) + " }}{{ $k }}={{ $v }};{{ end }}")
            else:
                parts.append("{{ with " + expr(0) + " }}<{{ . }}>{{ end }}")
            parts.append(rng.choice(["", " ", "|"]))
        return "".join(parts)

    values = [1.5, 0.0, -3.0, 1234567.0, 0.001, NAN]
    return [(template(), rng.choice(values)) for _ in range(count)]


@pytest.mark.prometheus
def test_promtool_agrees_on_generated_templates(tmp_path: Path) -> None:
    """Rendered text or Prometheus's exact error text, for 300 generated templates."""
    engine = _query_engine()
    cases: list[tuple[str, float]] = []
    ours: list[str] = []
    for text, value in _generated_templates(random.Random(4), 400):
        try:
            out = _render(len(cases), text, value, engine)
        except TemplateError as exc:
            out = f"<error expanding template: {exc}>"
        if "no printed form" in out:  # Go prints a query result as pointer addresses
            continue
        cases.append((text, value))
        ours.append(out)
    assert len(cases) >= 300
    assert sum(not o.startswith("<error") for o in ours) >= 30
    _promtool(tmp_path, cases, ours)


_FMT_VALUES = [
    "$value", "1", "-7", "0", "255", "3.14159", "-0.5", "1e21", "1e-7", "123456.789", '"abc"',
    '""', '"héllo"', '"a\\"b"', "true", "false", "$labels", "$labels.job", '(args 1 "x")', "'x'",
    "0x7f", "nil", "(humanize $value)", "(len $labels)", "$externalLabels",
]  # fmt: skip


def _formatting_templates(rng: random.Random, count: int) -> list[tuple[str, float]]:
    """printf with random flags, widths, precisions and verbs over every kind of value, plus
    range/if/with/print and the humanize family over the same values."""

    def printf() -> str:
        parts, n = [], rng.randint(1, 3)
        for _ in range(n):
            flags = "".join(rng.choice(["", "-", "+", " ", "0"]) for _ in range(rng.randint(0, 2)))
            width = rng.choice(["", "", "3", "8", "12"])
            prec = rng.choice(["", "", ".0", ".2", ".5", "."])
            parts.append(f"%{flags}{width}{prec}{rng.choice('vsdqfFeEgGtcoUT')}")
            parts.append(rng.choice(["", "|", " ", "%%"]))
        args = " ".join(rng.choice(_FMT_VALUES) for _ in range(n + rng.choice([-1, 0, 0, 1])))
        return '{{ printf "' + "".join(parts) + '" ' + args + " }}"

    def control() -> str:
        value = rng.choice(_FMT_VALUES)
        return rng.choice(
            [
                "{{ range $k, $v := $labels }}{{ $k }}:{{ $v | "
                + rng.choice(["toUpper", "title", "len", 'printf "%5s"', "humanize"])
                + " }},{{ end }}",
                "{{ $x := "
                + value
                + " }}{{ if "
                + rng.choice(["$x", "not $x", "and $x $value", "or $x 0"])
                + " }}T{{ $x }}{{ else }}F{{ end }}",
                "{{ with " + value + " -}} [ {{- . -}} ] {{- end }}",
                "{{ print " + " ".join(rng.choice(_FMT_VALUES) for _ in range(3)) + " }}",
                "{{ "
                + rng.choice(["humanize", "humanize1024", "humanizeDuration", "humanizeTimestamp"])
                + f" {value} }}}}",
            ]
        )

    values = [1.5, 0.0, -3.0, 1234567.0, 0.001, NAN, 1e-9, 86401.5, 255.0]
    return [
        (
            " ".join(rng.choice([printf, control])() for _ in range(rng.randint(1, 3))),
            rng.choice(values),
        )
        for _ in range(count)
    ]


@pytest.mark.prometheus
def test_promtool_agrees_on_generated_formatting(tmp_path: Path) -> None:
    engine = _query_engine()
    cases = _formatting_templates(random.Random(9), 400)
    ours = []
    for i, (text, value) in enumerate(cases):
        try:
            ours.append(_render(i, text, value, engine))
        except TemplateError as exc:
            ours.append(f"<error expanding template: {exc}>")
    assert sum(not o.startswith("<error") for o in ours) >= 300
    _promtool(tmp_path, cases, ours)


def _layout_templates(rng: random.Random, count: int) -> list[tuple[str, float]]:
    """Text, whitespace and newlines around actions with and without trim markers, comments,
    raw strings with newlines, and nested blocks."""
    spaces = ["", " ", "  ", "\n", " \n ", "\t", "\n\n", "x", " y "]
    actions = [
        "$value", "$labels.job", '"s"', "`r\n`", "1", "/* c */", "/* c\n d */", "$x := 2",
        "if true", "else", "end", "range $labels", ".", "with $labels.job", "print",
    ]  # fmt: skip
    out = []
    while len(out) < count:
        parts, depth = ["{{ $x := 1 }}"], 0
        for _ in range(rng.randint(1, 6)):
            parts.append(rng.choice(spaces))
            action = rng.choice(actions)
            if action in ("else", "end") and depth == 0:
                action = "$x"
            depth += action in ("if true", "range $labels", "with $labels.job")
            depth -= action == "end"
            comment = action.startswith("/*")
            left = rng.choice(["{{", "{{- "] if comment else ["{{", "{{- ", "{{ "])
            right = rng.choice(["}}", " -}}"] if comment else ["}}", " -}}", " }}"])
            parts.append(left + action + right)
        text = "".join(parts) + "{{ end }}" * depth + rng.choice(spaces)
        try:
            compile_template(text, name="t")
        except TemplateError:  # e.g. `else` twice in one block: refused by promtool too
            continue
        out.append((text, 1.5))
    return out


@pytest.mark.prometheus
def test_promtool_agrees_on_generated_layout(tmp_path: Path) -> None:
    engine = _query_engine()
    cases = _layout_templates(random.Random(5), 300)
    _promtool(tmp_path, cases, [_render(i, t, v, engine) for i, (t, v) in enumerate(cases)])
