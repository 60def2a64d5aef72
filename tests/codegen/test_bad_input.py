"""Generated bad descriptions: every one is refused with a one-line GenerateError or renders;
nothing else escapes (no KeyError, TypeError or traceback from deep inside a generator)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.codegen.conftest import EXAMPLES
from tripod.codegen import GenerateError, parse_service, render
from tripod.codegen._yamlio import load_strict

SHOP: dict[str, Any] = load_strict((EXAMPLES / "shop" / "tripod.yaml").read_text())

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into the description (dict keys and list indexes)."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            out += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            out += _paths(inner, (*prefix, i))
    return out


PATHS = _paths(SHOP)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), junk=JUNK)
def test_a_bad_value_anywhere_is_refused_in_one_line(path: tuple[Any, ...], junk: Any) -> None:
    data = copy.deepcopy(SHOP)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = junk
    try:
        svc = parse_service(data, source="fuzz")
        render(svc, ["prometheus", "alertmanager", "k8s"])
    except GenerateError as exc:
        text = str(exc)
        assert "\n" not in text
        assert " = " in text
        assert "expected" in text


@settings(max_examples=60, deadline=None)
@given(objective=st.floats(93.07, 99.999), latency=st.booleans())
def test_every_accepted_objective_gets_a_bracketed_burn_test(
    objective: float, latency: bool
) -> None:
    slo: dict[str, Any] = {"objective": objective}
    if latency:
        slo |= {"kind": "latency", "threshold": 0.25}
    svc = parse_service(
        {"service": "s", "team": "t", "runbook_url": "https://r.example", "slos": [slo]},
        source="fuzz",
    )
    files = render(svc, ["prometheus"])
    tests = load_strict(files["prometheus/tests/s-slo.test.yml"].decode())["tests"]
    assert any("fires at" in t["name"] for t in tests)
