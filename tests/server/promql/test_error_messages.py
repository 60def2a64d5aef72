"""Bad PromQL gets a clean, typed, positioned error, like Prometheus's, and leaks no internals.

Invalid queries are generated from the conformance corpus (seeded): truncations, deleted and
inserted characters, misspelt function names, wrong argument counts, bad durations, unbalanced
parentheses, plus hand-written classics. Each goes to a real Prometheus (the oracle) and to a real
`tripod serve` over HTTP: both must agree on success vs error and on ``errorType``; where
Prometheus says ``bad_data``, tripod must answer HTTP 400 with a ``line:col`` position and nothing
that exposes Python or Rust internals.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance import corpus, querygen
from tests.conformance.harness import Answer, Backend
from tests.helpers.procs import start_prometheus, start_tripod_serve

pytestmark = [pytest.mark.prometheus]

SEED = 7
EVAL_AT = 1704067200.0
LEAKS = (
    "Traceback",
    'File "',
    "pyo3",
    "panicked",
    "PanicException",
    "<promql_parser",
    "promql_parser.",
    " object at 0x",
    "site-packages",
    "ValueError",
    "TypeError",
    "AttributeError",
    "KeyError",
    "IndexError",
    "Some(",
    "unwrap",
)
POSITION = re.compile(r"\b\d+:\d+\b")
FUNCTION_TYPOS = {
    "rate": "rat",
    "sum": "summ",
    "histogram_quantile": "histogram_quantil",
    "avg_over_time": "avg_overtime",
    "label_replace": "label_replac",
    "increase": "increse",
    "abs": "ab",
}
BAD_DURATIONS = ("[5]", "[m]", "[5mm]", "[-5m]", "[1.5m]", "[5m:]x", "[0s]", "[5m:-1m]", "[1y2x]")
CLASSICS = (
    "",
    " ",
    "(",
    ")",
    "sum(",
    "sum()",
    "rate()",
    "foo{",
    'foo{job="a"',
    'foo{job="a}',
    "foo}",
    "foo[5m",
    "foo[5m]]",
    "1 +",
    "+",
    "* 2",
    "foo bar",
    'foo{job=~"("}',
    'foo{job=~"a**"}',
    "sum by (job foo)",
    "sum by job (foo)",
    "topk(1)",
    "quantile(foo)",
    "count_values(1, foo)",
    "foo offset 5",
    "foo @ ",
    "foo @ start",
    "foo[5m:1m:1m]",
    "foo[5m] offset",
    "1 == 1",
    "foo and 1",
    "foo == bool",
    "time(1)",
    "vector()",
    "scalar(foo[5m])",
    "abs(foo, 1)",
    'label_join(foo, "a")',
    "histogram_quantile(foo)",
    "holt_winters(foo[5m])",
    "nosuch(foo)",
    "foo # comment only (\n",
    "'unterminated",
    '"unterminated',
    "`raw",
    "\\",
    'foo{__name__=""}',
    '{__name__=~".*"}',
    'foo{0job="a"}',
    "-",
    "--",
    "!foo",
    "foo !~ bar",
    "1e",
    "0x",
    "..",
    "sum without (job) by (x) (foo)",
    "foo group_left bar",
    "foo + on(a) group_left(b) group_right bar",
    "avg_over_time(foo)",
    "min(foo[5m])",
    "rate(foo[5m]) [5m]",
    'foo{job="a",}}',
)


def _mutate(rng: random.Random, query: str) -> str:
    kind = rng.randrange(7)
    if kind == 0 and len(query) > 2:
        return query[: rng.randrange(1, len(query) - 1)]
    if kind == 1 and query:
        i = rng.randrange(len(query))
        return query[:i] + query[i + 1 :]
    if kind == 2:
        i = rng.randrange(len(query) + 1)
        return query[:i] + rng.choice("()[]{},\"=~!@:+*/^ `'") + query[i:]
    if kind == 3:
        for name, typo in FUNCTION_TYPOS.items():
            if f"{name}(" in query:
                return query.replace(f"{name}(", f"{typo}(", 1)
        return "unknownfn(" + query + ")"
    if kind == 4:
        if "[" in query:
            return re.sub(r"\[[^\]]*\]", rng.choice(BAD_DURATIONS), query, count=1)
        return query + "[5x]"
    if kind == 5:
        m = re.search(r"\b([a-z_]+)\(", query)
        if m:
            return query[: m.end()] + "1, " + query[m.end() :]
        return "abs(" + query + ", 1)"
    return rng.choice(("(", "((")) + query if rng.random() < 0.5 else query + ")"


def invalid_candidates(count: int = 220) -> list[str]:
    """Classics plus seeded mutations of valid corpus queries; deduplicated, in a fixed order."""
    valid = [c.query for c in corpus.cases() if not c.error] + querygen.generate()
    rng = random.Random(SEED)
    out: dict[str, None] = dict.fromkeys(CLASSICS)
    out.update(dict.fromkeys(c.query for c in corpus.cases() if c.section == "errors_parse"))
    while len(out) < count:
        out.setdefault(_mutate(rng, rng.choice(valid)))
    return list(out)


CANDIDATES = invalid_candidates()


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backend, Backend]]:
    workdir: Path = tmp_path_factory.mktemp("promql-errors")
    prom = start_prometheus(workdir / "prometheus", "scrape_configs: []\n")
    try:
        tripod = start_tripod_serve(workdir / "tripod", "--retention-time", "0")
        try:
            yield Backend("prometheus", prom.url), Backend("tripod", tripod.url)
        finally:
            tripod.stop()
    finally:
        prom.stop()


def _leaks(message: str) -> list[str]:
    return [token for token in LEAKS if token in message]


@pytest.mark.parametrize("query", CANDIDATES, ids=[f"q{i:03d}" for i in range(len(CANDIDATES))])
def test_invalid_query_error(query: str, backends: tuple[Backend, Backend]) -> None:
    prom, tripod = backends
    ref: Answer = prom.instant(query, EVAL_AT)
    got: Answer = tripod.instant(query, EVAL_AT)
    shown = f"query {query!r}: prometheus={ref.http_status} {ref.error_type} {ref.error!r}"
    assert got.status in ("success", "error"), f"{shown}\n  tripod sent no API envelope: {got}"
    assert got.status == ref.status, f"{shown}\n  tripod={got.http_status} {got.status} {got.error}"
    if ref.status == "success":
        assert got.result_type == ref.result_type, shown
        return
    message = got.error or ""
    assert got.error_type == ref.error_type, f"{shown}\n  tripod={got.error_type} {message!r}"
    assert got.http_status == ref.http_status, f"{shown}\n  tripod HTTP {got.http_status}"
    assert not _leaks(message), f"{shown}\n  tripod leaks {_leaks(message)}: {message!r}"
    assert "\n" not in message.strip(), f"tripod's message spans lines: {message!r}"
    if ref.error_type == "bad_data" and POSITION.search(ref.error or ""):
        assert POSITION.search(message), f"{shown}\n  tripod gives no line:col: {message!r}"
    if "parse error" in (ref.error or ""):
        assert "parse error" in message, f"{shown}\n  tripod does not say parse error: {message!r}"


def test_candidates_are_mostly_invalid(backends: tuple[Backend, Backend]) -> None:
    """The generator is worth its name: most candidates are errors on Prometheus."""
    prom, _ = backends
    errors = sum(prom.instant(q, EVAL_AT).status == "error" for q in CANDIDATES)
    assert errors >= 0.7 * len(CANDIDATES), f"only {errors}/{len(CANDIDATES)} are invalid"
