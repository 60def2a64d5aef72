# ruff: noqa: E501  (the case table keeps each template on one line, as written in a rule file)
"""Templates against the oracle: each case's expected text was produced by Prometheus 2.42 itself
(`promtool test rules`), and `test_promtool_agrees` re-checks every case against promtool on each
run, using the renderer's own output as `exp_annotations`.

Every case renders as an annotation of an alert on the series
`case_NN{job="api",instance="host-1:9090",path="/v1/users"}` with the case's value, beside
`http_requests{job="a",code="500"} 5` and `http_requests{job="b",code="200"} 7` for `query`, with
external labels {cluster="eu1"} and external URL http://tripod.example:9090.

Prometheus (and promtool, which loads test series from a Go map) returns a query's series in no
fixed order, so every case that reads more than one series sorts them with `sortByLabel`.
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
INF = math.inf
SERIES_LABELS = {"job": "api", "instance": "host-1:9090", "path": "/v1/users"}
EXTERNAL_LABELS = {"cluster": "eu1"}
EXTERNAL_URL = "http://tripod.example:9090"
QUERY_SERIES = [({"job": "a", "code": "500"}, 5.0), ({"job": "b", "code": "200"}, 7.0)]

# (template, $value, what Prometheus 2.42 renders)
CASES: list[tuple[str, float, str]] = [
    ("{{ $value }}", 1234567.0, "1.234567e+06"),
    ("{{ $value }}", 0.1, "0.1"),
    ("{{ $value }}", 100000.0, "100000"),
    ("{{ $value }}", 1e-05, "1e-05"),
    ("{{ $value }}", 1e21, "1e+21"),
    ("{{ .Value }} {{ $value }}", NAN, "NaN NaN"),
    ("{{ $value }}|{{ humanize $value }}", INF, "+Inf|+Inf"),
    ("{{ $value }}", -0.5, "-0.5"),
    ("{{ $value }}", 0.0, "0"),
    ("{{ $value }} {{ 3 }} {{ 2.50 }} {{ 1e3 }} {{ 0x1F }} {{ 'a' }}", 3.0, "3 3 2.5 1000 31 97"),
    (
        '{{ $labels.job }}/{{ .Labels.instance }}/[{{ $labels.missing }}]/{{ index $labels "path" }}',
        1.0,
        "api/host-1:9090/[]//v1/users",
    ),
    ("{{ $labels }}", 1.0, "map[__name__:case_11 instance:host-1:9090 job:api path:/v1/users]"),
    (
        "{{ . }}",
        2.0,
        "{map[__name__:case_12 instance:host-1:9090 job:api path:/v1/users] map[cluster:eu1] http://tripod.example:9090 2}",
    ),
    ("{{ humanize $value }}", 1234567.0, "1.235M"),
    ("{{ humanize $value }}", 0.000123, "123u"),
    (
        '{{ humanize 0 }} {{ humanize 999.9 }} {{ humanize 1e30 }} {{ humanize -1500 }} {{ humanize "1234" }} {{ humanize 1000 }}',
        1.0,
        "0 999.9 1e+06Y -1.5k 1.234k 1k",
    ),
    (
        "{{ humanize1024 1048576 }} {{ humanize1024 1 }} {{ humanize1024 0.5 }} {{ humanize1024 123456789 }} {{ humanize1024 -2048 }}",
        1.0,
        "1Mi 1 0.5 117.7Mi -2ki",
    ),
    ("{{ humanizeDuration $value }}", 3725.0, "1h 2m 5s"),
    (
        "{{ humanizeDuration 0.0123 }} {{ humanizeDuration 0 }} {{ humanizeDuration 90061 }} {{ humanizeDuration -65 }} {{ humanizeDuration 59.999 }} {{ humanizeDuration 1.5 }}",
        1.0,
        "12.3ms 0s 1d 1h 1m 1s -1m 5s 60s 1.5s",
    ),
    ("{{ humanizePercentage $value }}", 0.1234, "12.34%"),
    (
        '{{ humanizePercentage 1 }} {{ humanizePercentage 0.000001234 }} {{ humanizePercentage "0.5" }}',
        1.0,
        "100% 0.0001234% 50%",
    ),
    ("{{ humanizeTimestamp $value }}", 1435065584.128, "2015-06-23 13:19:44.128 +0000 UTC"),
    (
        "{{ humanizeTimestamp 0 }} {{ humanizeTimestamp -1.5 }} {{ humanizeTimestamp 1700000000.0004 }}",
        1.0,
        "1970-01-01 00:00:00 +0000 UTC 1969-12-31 23:59:58.5 +0000 UTC 2023-11-14 22:13:20 +0000 UTC",
    ),
    (
        '{{ printf "%.2f" $value }}|{{ printf "%5.1f|%-6s|%05d|%+d" 3.14159 "ab" 42 7 }}',
        0.6666666666666666,
        "0.67|  3.1|ab    |00042|+7",
    ),
    (
        '{{ printf "%v %s %q %x %X %e %g %G %t %c %o %b %%" 1.5 "s" "q\\"" 255 "hi" 12345.678 0.000012 1e21 true 65 8 5 }}',
        1.0,
        '1.5 s "q\\"" ff 6869 1.234568e+04 1.2e-05 1E+21 true A 10 101 %',
    ),
    (
        '{{ printf "%d" 1.5 }}|{{ printf "%s" 2 }}|{{ printf "%d %d" 1 }}|{{ printf "%d" 1 2 }}|{{ printf "%y" 1 }}|{{ printf "%s" nil }}',
        1.0,
        "%!d(float64=1.5)|%!s(int=2)|1 %!d(MISSING)|1%!(EXTRA int=2)|%!y(int=1)|%!s(<nil>)",
    ),
    (
        '{{ printf "%10.3e|%-10g|%08.2f|% d|%.3s|%6.2f%%" 1234.5 0.5 -3.14159 5 "abcdef" 12.345 }}',
        1.0,
        " 1.234e+03|0.5       |-0003.14| 5|abc| 12.35%",
    ),
    ('{{ printf "%s is %v" $labels.job $value }}', 0.25, "api is 0.25"),
    ('{{ print 1 2 "a" "b" 3 $value }} {{ print }}', 4.0, "1 2ab3 4 "),
    (
        '{{ title "hello wORLD-foo_bar 1x" }}|{{ toUpper "abcé" }}|{{ toLower "ABC" }}',
        1.0,
        "Hello WORLD-Foo_bar 1x|ABCÉ|abc",
    ),
    (
        '{{ reReplaceAll "(.*):.*" "$1" $labels.instance }}|{{ reReplaceAll "(a)" "$1x${1}y" "cat" }}|{{ reReplaceAll "x*" "-" "abxd" }}|{{ reReplaceAll "^" ">" "a" }}|{{ reReplaceAll "b$" "B" "ab" }}',
        1.0,
        "host-1|cayt|-a-b-d-|>a|aB",
    ),
    ('{{ match "^host" $labels.instance }} {{ match "x+" "abc" }}', 1.0, "true false"),
    (
        '{{ stripPort "host:80" }} {{ stripPort "[::1]:80" }} {{ stripPort "host" }} {{ stripPort "a:b:c" }} {{ stripPort "[::1]" }}',
        1.0,
        "host ::1 host a:b:c [::1]",
    ),
    (
        '{{ safeHtml "<b>" }} {{ (args 1 "x").arg1 }} {{ (args 1).arg5 }} {{ len "héllo" }} {{ len $labels }} {{ index "abc" 1 }}',
        1.0,
        "<b> x <no value> 6 4 98",
    ),
    (
        "{{ if gt $value 10.0 }}big{{ else if gt $value 1.0 }}medium{{ else }}small{{ end }}",
        5.0,
        "medium",
    ),
    (
        "{{ if gt $value 10.0 }}big{{ else if gt $value 1.0 }}medium{{ else }}small{{ end }}",
        0.5,
        "small",
    ),
    (
        "{{ if $labels.missing }}yes{{ else }}no{{ end }} {{ if $labels.job }}job{{ end }} {{ if 0 }}a{{ else }}b{{ end }}",
        1.0,
        "no job b",
    ),
    (
        "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
        1.0,
        "__name__=case_37;instance=host-1:9090;job=api;path=/v1/users;",
    ),
    ("{{ range $labels }}[{{ . }}]{{ end }}", 1.0, "[case_38][host-1:9090][api][/v1/users]"),
    (
        '{{ range query "http_requests" | sortByLabel "job" }}{{ .Labels.job }}:{{ .Value }} {{ end }}',
        1.0,
        "a:5 b:7 ",
    ),
    (
        '{{ range $i, $s := query "http_requests" | sortByLabel "code" }}{{ $i }}={{ $s.Labels.code }} {{ else }}none{{ end }}',
        1.0,
        "0=200 1=500 ",
    ),
    ('{{ range query "nothing_here" }}x{{ else }}empty{{ end }}', 1.0, "empty"),
    (
        "{{ with query \"http_requests{job='b'}\" }}{{ . | first | value }}{{ else }}no{{ end }}",
        1.0,
        "7",
    ),
    (
        '{{ query "sum(http_requests)" | first | value }} {{ query "http_requests{job=\'a\'}" | first | label "code" }}',
        1.0,
        "12 500",
    ),
    (
        '{{ with query "http_requests" | sortByLabel "code" }}{{ range . }}{{ .Labels.code }} {{ end }}{{ end }}',
        1.0,
        "200 500 ",
    ),
    (
        "{{ (query \"http_requests{job='b'}\" | first).Labels.job }} {{ query \"http_requests{job='a'}\" | first }}",
        1.0,
        "b {map[__name__:http_requests code:500 job:a] 5}",
    ),
    (
        "{{ query \"label_replace(vector(1), '__value__', 'abc', '', '')\" | first | strvalue }}",
        1.0,
        "abc",
    ),
    ('{{ printf "%.1f" (query "sum(http_requests) / 3" | first | value) }}', 1.0, "4.0"),
    (
        '{{ and 1 0 }} {{ or 0 "" "x" }} {{ not true }} {{ and $labels.job $labels.instance }} {{ or $labels.missing "dflt" }}',
        1.0,
        "0 x false host-1:9090 dflt",
    ),
    (
        '{{ eq $labels.job "api" }} {{ ne 1 2 }} {{ lt 1.5 2.5 }} {{ le "a" "b" }} {{ gt 3 3 }} {{ ge 3 3 }} {{ eq 1 2 3 1 }}',
        1.0,
        "true true true true false true true",
    ),
    ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ $y }}{{ end }}{{ $x }}", 1.0, "32"),
    ('a  {{- $value -}}  b|{{- " c " }}|{{ " d " -}} |', 7.0, "a7b| c | d |"),
    ("x{{/* a comment */}}y{{- /* trimmed */ -}}  z", 1.0, "xyz"),
    (
        '{{ `raw \\n $value` }}|{{ "tab\\there\\u00e9\\x41\\101" }}',
        1.0,
        "raw \\n $value|tab\thereéAA",
    ),
    ('{{ $value | humanize }} {{ $labels.job | toUpper | printf "%s!" }}', 2048.0, "2.048k API!"),
    (
        "{{ $externalLabels.cluster }} {{ $externalURL }} {{ .ExternalLabels }}",
        1.0,
        "eu1 http://tripod.example:9090 map[cluster:eu1]",
    ),
    ("Line1\n{{ if true -}}\n  indented\n{{- end }}\nLine3", 1.0, "Line1\nindented\nLine3"),
    (
        "{{ . | }}",
        1.5,
        "{map[__name__:case_57 instance:host-1:9090 job:api path:/v1/users] map[cluster:eu1] http://tripod.example:9090 1.5}",
    ),
    ('{{ $labels.job | printf "%s-%s" "x" }}', 1.0, "x-api"),
    (
        '{{ range $i, $e := query "http_requests" | sortByLabel "job" }}{{ $.Labels.job }}{{ $i }}{{ $e.Value }}{{ end }}',
        1.0,
        "api05api17",
    ),
    (
        '{{ index (query "http_requests" | sortByLabel "job") 1 | value }} {{ len (query "http_requests") }}',
        1.0,
        "7 2",
    ),
    ("{{ if and (gt $value 1.0) (lt $value 10.0) }}in{{ else }}out{{ end }}", 5.0, "in"),
    (
        '{{ printf "%s" (humanize $value) }} {{ "a" | eq "a" }} {{ reReplaceAll "[^a-z]" "_" "A-b.c" }}',
        5.0,
        "5 true __b_c",
    ),
    (
        '{{ title "élan vital" }} {{ toUpper "ßa" }} {{ humanize1024 "1e9" }} {{ humanizeDuration "3600" }}',
        1.0,
        "Élan Vital ßA 953.7Mi 1h 0m 0s",
    ),
    (
        '{{ printf "%5.2f%%" (humanizePercentage 0.5) }} {{ printf "%d" $labels }} {{ args 1 "a" }}',
        1.0,
        "%!f(string=   50)% map[%!d(string=__name__):%!d(string=case_64) %!d(string=instance):%!d(string=host-1:9090) %!d(string=job):%!d(string=api) %!d(string=path):%!d(string=/v1/users)] map[arg0:1 arg1:a]",
    ),
    (
        '{{ $labels.job | len }} {{ index $labels "job" | toUpper }} {{ printf "%08.3f|%-8.3s|%x|%+.1e" -1.5 "abcdef" -255 12345.0 }}',
        1.0,
        "3 API -001.500|abc     |-ff|+1.2e+04",
    ),
    (
        '{{ printf "% x|%5t|%c|%U|%q" "hi" true 0x1F600 65 "é\\x01" }}',
        1.0,
        '68 69| true|😀|U+0041|"é\\x01"',
    ),
    (
        '{{ printf "%v" nil }} {{ print nil }} {{ print $labels.nope }} {{ print (args).x }} {{ (args).x }}',
        1.0,
        "<nil> <nil>  <nil> <no value>",
    ),
    (
        '{{ 0.1e1 }} {{ 1_000 }} {{ 0b101 }} {{ 0o17 }} {{ 017 }} {{ -0x10 }} {{ 1e-7 }} {{ \'a\' | printf "%c" }} {{ "\\u00e9" | len }}',
        1.0,
        "1 1000 5 15 15 -16 1e-07 a 2",
    ),
    (
        '{{ range $k, $v := (args "a" "b") }}{{$k}}={{$v}};{{end}} {{ with $labels.nope }}x{{ else }}y{{ end }}',
        1.0,
        "arg0=a;arg1=b; y",
    ),
    ("{{ $labels.job }}{{- /* c */ -}}  {{ $value }}", 2.0, "api2"),
    (
        '{{ if eq $labels.job "web" "api" }}yes{{ end }} {{ ne $labels.job "x" }} {{ le 2 2 }} {{ gt $value 1.0 }}',
        NAN,
        "yes true true true",
    ),
    (
        '{{ printf "%.0f %.1f %.2f %.3f" 0.5 0.25 1.005 2.0005 }} {{ printf "%6.3v" 3.14159 }} {{ printf "%.3v" "abcdef" }}',
        1.0,
        "0 0.2 1.00 2.001   3.14 abc",
    ),
    (
        '{{ printf "%s %v" (query "http_requests" | sortByLabel "job" | first).Labels $labels }}',
        1.0,
        "map[__name__:http_requests code:500 job:a] map[__name__:case_73 instance:host-1:9090 job:api path:/v1/users]",
    ),
    (
        '{{ printf "%v|%s|%d" (args 1 "x" 2.5 true) (args 1) (args 1) }}',
        1.0,
        "map[arg0:1 arg1:x arg2:2.5 arg3:true]|map[arg0:%!s(int=1)]|map[%!d(string=arg0):1]",
    ),
    (
        "{{ humanize 1e-30 }} {{ humanize -0.0005 }} {{ humanize 1e27 }} {{ humanizeDuration 1e-12 }} {{ humanizeDuration -0.5 }} {{ humanizePercentage -0.0001 }}",
        1.0,
        "1e-06y -500u 1000Y 1ps -500ms -0.01%",
    ),
    (
        '{{ humanize "NaN" }} {{ humanize "-Inf" }} {{ humanize "0x10p0" }} {{ humanizeDuration "inf" }} {{ humanize1024 "-1" }}',
        1.0,
        "NaN -Inf 16 +Inf -1",
    ),
    (
        '{{ reReplaceAll "(?i)API" "x" $labels.job }} {{ reReplaceAll "a|" "-" "banana" }} {{ reReplaceAll "(?P<h>[a-z-]+)-\\\\d" "${h}" $labels.instance }} {{ reReplaceAll "o" "$$" "foo" }}',
        1.0,
        "x -b-n-n- host:9090 f$$",
    ),
    (
        '{{ match "^api$" $labels.job }} {{ match "\\\\d+" "a1" }} {{ match "" "" }}',
        1.0,
        "true true true",
    ),
    (
        '{{ stripPort ":80" }}|{{ stripPort "[a]b:1" }}|{{ stripPort "a]:1" }}|{{ stripPort "[::1]:80:9" }}|{{ stripPort "" }}',
        1.0,
        "|[a]b:1|a]:1|[::1]:80:9|",
    ),
    (
        "{{ with $x := $labels.job }}{{ $x }}{{ . }}{{ end }} {{ range $v := $labels }}{{ $v }},{{ end }}",
        1.0,
        "apiapi case_80,host-1:9090,api,/v1/users,",
    ),
    (
        '{{ $x := "a" }}{{ range $labels }}{{ $x = . }}{{ end }}{{ $x }} {{ $value = 3.5 }}{{ $value }} {{ .Value }}',
        1.0,
        "/v1/users 3.5 1",
    ),
    ('{{ printf "%T" 1 }}', 1.0, "int"),
    (
        '{{ printf "%e|%E|%.0e|%g|%G" 0.0 1e-300 5.5 1e100 1e-10 }}',
        1.0,
        "0.000000e+00|1.000000E-300|6e+00|1e+100|1E-10",
    ),
    (
        '{{ printf "%d|%5d|%-5d|%05d|%x|%X|%o|%b|%c" 0 -42 -42 -42 3054 3054 64 6 9731 }}',
        1.0,
        "0|  -42|-42  |-0042|bee|BEE|100|110|☃",
    ),
    (
        '{{ printf "%s|%10s|%-10s|%q|%x|%X" "" "ab" "ab" "" "" "xyz" }}',
        1.0,
        '|        ab|ab        |""||78797A',
    ),
    ("{{ $value }}", 123456.7, "123456.7"),
    ("{{ $value }}", 1000000000000000.0, "1e+15"),
    ("{{ $value }}", 0.000123456789, "0.000123456789"),
    ("{{ $value }}", 5e-324, "5e-324"),
    ("{{ $value }}", 1.7976931348623157e308, "1.7976931348623157e+308"),
    ("{{ humanize $value }}", 1.7976931348623157e308, "1.798e+284Y"),
    ("{{ humanizeDuration $value }}", 9.3e18, "-106751991167300d -15h -30m -8s"),
    ("{{ humanizeTimestamp $value }}", -9200000000.0, "1678-06-18 12:26:40 +0000 UTC"),
]

# Expansion errors: Prometheus's message ends with the same "<what>: <why>" as ours.
ERROR_CASES: list[tuple[str, str]] = [
    (
        '{{ humanize "abc" }}',
        'error calling humanize: strconv.ParseFloat: parsing "abc": invalid syntax',
    ),
    ("{{ $labels.job.x }}", "can't evaluate field x in type string"),
    (
        '{{ query "nothing_here" | first }}',
        "error calling first: first() called on vector with no elements",
    ),
    ("{{ toUpper $value }}", "wrong type for value; expected string; got float64"),
    (
        '{{ printf "%s" (index $labels) | len | humanize | toUpper | eq 1 }}',
        "incompatible types for comparison",
    ),
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
    return compile_template(text, name=f"Case{index:02d}").render(_data(index, value, engine))


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
    engine = _query_engine()
    out = _promtool(tmp_path, [(text, 1.0) for text, _ in ERROR_CASES], None)
    got = dict(
        re.findall(r"alertname: Case(\d+).*?Annotations:\{text=(\"(?:[^\"\\]|\\.)*\")\}", out, re.S)
    )
    for i, (text, why) in enumerate(ERROR_CASES):
        theirs = yaml.safe_load(
            got[f"{i:02d}"]
        )  # Go's quoting reads as a YAML double-quoted string
        assert theirs.startswith("<error expanding template:"), theirs
        assert theirs.endswith(f": {why}>"), theirs
        with pytest.raises(TemplateError) as info:
            _render(i, text, 1.0, engine)
        assert str(info.value).endswith(f": {why}"), str(info.value)


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
        '{{ printf "%.3g|%e|%.2f|%g|%v|%8.1e|%+.4f" $value $value $value $value $value $value $value }}'
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
