"""Every corpus case, evaluated on a real Prometheus and on tripod, must give the same answer.

Instant queries run at several times (early, mid-range unaligned, a block boundary, the end, and
exactly 5 minutes after the last scrape); range queries over the whole data set at 60 s steps and
over an unaligned window at 37 s steps. See compare.py for what "the same" means.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conformance import corpus, datagen, moments, querygen, staleness
from tests.conformance.compare import diff, render
from tests.conformance.conftest import OUTCOMES, Env, prom_only
from tests.conformance.harness import Answer, Backend

pytestmark = [pytest.mark.conformance, pytest.mark.prometheus]

START, END = datagen.time_range_s()
INSTANTS: tuple[float, ...] = (START + 600, START + 4021.5, START + 7200, END, END + 300)
RANGES: tuple[tuple[float, float, float], ...] = (
    (START, END + 300, 60.0),
    (START + 1800.5, START + 7230.5, 37.0),
)
#: Error cases only need one evaluation unless they ask for more.
ERROR_INSTANT = START + 4021.5

Eval = tuple[str, Callable[[Backend], Answer]]


def evaluations(case: corpus.Case, stale_start: int = 0) -> list[Eval]:
    q = case.query
    out: list[Eval] = []
    instants, ranges = INSTANTS, RANGES
    if case.section == "staleness":
        instants, ranges = staleness.eval_times(stale_start)
    elif case.at:
        q = moments.resolve(q, stale_start)
        instants, ranges = moments.instants(stale_start, case.at), moments.ranges(stale_start)
    elif case.error and case.kinds == "instant":
        instants = (ERROR_INSTANT,)
    if case.kinds in ("both", "instant"):
        out += [(f"instant @{t:.1f}", functools.partial(Backend.instant, query=q, at=t))
                for t in instants]  # fmt: skip
    if case.kinds in ("both", "range"):
        for s, e, st in ranges:
            call = functools.partial(Backend.range, query=q, start=s, end=e, step=st)
            out.append((f"range {s:.1f}..{e:.1f} step {st:g}", call))
    return out


def all_cases() -> list[corpus.Case]:
    # TRIPOD_CONFORMANCE_SEED / _QUERIES explore beyond the corpus's own 150 generated queries.
    seed = int(os.environ.get("TRIPOD_CONFORMANCE_SEED", querygen.SEED))
    count = int(os.environ.get("TRIPOD_CONFORMANCE_QUERIES", querygen.COUNT))
    known = corpus.GENERATED_XFAIL if seed == querygen.SEED else {}
    generated = [corpus.Case(q, section="generated", xfail=known.get(q))
                 for q in querygen.generate(count, seed)]  # fmt: skip
    return corpus.cases() + staleness.CASES + moments.cases() + moments.all_fuzz_cases() + generated


def _params() -> list[object]:
    params: list[object] = []
    counters: dict[str, int] = {}
    for case in all_cases():
        counters[case.section] = counters.get(case.section, 0) + 1
        case_id = f"{case.section}-{counters[case.section]:03d}"
        # The Prometheus-only self-check judges the corpus, not tripod: no xfails there.
        known = case.xfail is not None and not prom_only()
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail or "")] if known else []
        params.append(pytest.param(case, id=case_id, marks=marks))
    return params


POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="conformance")


@pytest.mark.parametrize("case", _params())
def test_case(case: corpus.Case, conformance_env: Env, request: pytest.FixtureRequest) -> None:
    if (case.section == "staleness" or case.at) and conformance_env.stale_error:
        pytest.fail(f"staleness data not loaded:\n{conformance_env.stale_error}", pytrace=False)
    evals = evaluations(case, conformance_env.stale_start)
    prom = conformance_env.prometheus
    ref_futures = [POOL.submit(call, prom) for _, call in evals]
    if conformance_env.tripod is None or prom_only():
        _check_corpus_case(case, evals, [f.result() for f in ref_futures])
        return
    tripod = conformance_env.tripod
    got_futures = [POOL.submit(call, tripod) for _, call in evals]
    reports = []
    for (label, _), ref_f, got_f in zip(evals, ref_futures, got_futures, strict=True):
        ref, got = ref_f.result(), got_f.result()
        lines = diff(ref, got, ordered=case.ordered, ties=case.ties, exact=case.exact)
        if got.http_status >= 500:  # a bug even where Prometheus failed too
            lines = [f"tripod answered HTTP {got.http_status}: {got.error}", *lines]
        if lines:
            reports.append(render(case.query, label, lines, ref))
    OUTCOMES[request.node.callspec.id] = {
        "query": case.query,
        "section": case.section,
        "equal": not reports,
        "xfail": case.xfail,
        "diff": reports[:3],
    }
    if reports:
        pytest.fail("\n".join(reports[:4]), pytrace=False)


def _check_corpus_case(case: corpus.Case, evals: list[Eval], answers: list[Answer]) -> None:
    """Prometheus-only self-check: the corpus says truthfully which cases are errors."""
    for (label, _), ans in zip(evals, answers, strict=True):
        assert ans.status in ("success", "error"), f"{label}: {ans}"
        if case.error:
            assert any(a.status == "error" for a in answers), f"expected an error: {case.query}"
            return
        if case.section not in ("generated", "moments_fuzz"):
            assert ans.status == "success", f"{label}: {case.query} -> {ans.error}"
