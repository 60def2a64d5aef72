"""The comparison itself can fail: each kind of difference it must catch, it catches."""

from __future__ import annotations

from typing import Any

from tests.conformance.compare import diff, values_equal
from tests.conformance.harness import Answer


def vec(*points: tuple[dict[str, str], str]) -> Answer:
    result: list[Any] = [{"metric": m, "value": [100.0, v]} for m, v in points]
    return Answer(200, "success", "vector", result)


def mat(metric: dict[str, str], *points: tuple[float, str]) -> Answer:
    return Answer(
        200, "success", "matrix", [{"metric": metric, "values": [list(p) for p in points]}]
    )


A, B = {"job": "a"}, {"job": "b"}


def test_equal_vectors_in_any_order() -> None:
    assert diff(vec((A, "1"), (B, "2")), vec((B, "2"), (A, "1.0000000000001"))) == []


def test_value_beyond_tolerance() -> None:
    lines = diff(vec((A, "1")), vec((A, "1.00001")))
    assert len(lines) == 1
    assert "prometheus=1 tripod=1.00001" in lines[0]


def test_missing_and_extra_series() -> None:
    lines = diff(vec((A, "1")), vec((B, "1")))
    assert any("missing in tripod" in line for line in lines)
    assert any("extra in tripod" in line for line in lines)


def test_special_floats() -> None:
    assert values_equal(float("nan"), float("nan"))
    assert not values_equal(float("nan"), 0.0)
    assert values_equal(float("inf"), float("inf"))
    assert not values_equal(float("inf"), float("-inf"))
    assert diff(vec((A, "NaN")), vec((A, "NaN"))) == []
    assert diff(vec((A, "+Inf")), vec((A, "-Inf"))) != []


def test_order_checked_only_when_asked() -> None:
    ref, got = vec((A, "1"), (B, "2")), vec((B, "2"), (A, "1"))
    assert diff(ref, got) == []
    assert diff(ref, got, ordered=True) != []
    # equal values: ``ordered`` accepts swapped label sets, ``exact`` does not
    ref, got = vec((A, "1"), (B, "1")), vec((B, "1"), (A, "1"))
    assert diff(ref, got, ordered=True) == []
    assert diff(ref, got, exact=True) != []
    assert diff(ref, ref, exact=True) == []


def test_matrix_timestamps_and_values() -> None:
    ref = mat(A, (1.0, "1"), (2.0, "2"))
    assert diff(ref, mat(A, (1.0, "1"), (2.0, "2"))) == []
    assert diff(ref, mat(A, (1.0, "1"))) != []
    assert diff(ref, mat(A, (1.0, "1"), (2.0, "3"))) != []


def test_errors_compare_type_and_status() -> None:
    bad = Answer(400, "error", error_type="bad_data", error="1:1: parse error")
    assert diff(bad, Answer(400, "error", error_type="bad_data", error="other words")) == []
    assert diff(bad, Answer(422, "error", error_type="execution", error="x")) != []
    assert diff(bad, vec()) != []
    assert diff(vec(), Answer(404, "invalid", error="Not Found")) != []


def test_scalar_and_result_type() -> None:
    scalar = Answer(200, "success", "scalar", [5.0, "1"])
    assert diff(scalar, Answer(200, "success", "scalar", [5.0, "1"])) == []
    assert diff(scalar, Answer(200, "success", "scalar", [5.0, "2"])) != []
    assert diff(scalar, vec((A, "1"))) != []


def test_ties_compare_values_not_series() -> None:
    ref, got = vec((A, "1"), (B, "2")), vec(({"job": "c"}, "1"), (B, "2"))
    assert diff(ref, got) != []
    assert diff(ref, got, ties=True) == []
    assert diff(ref, vec((A, "1"), (B, "3")), ties=True) != []
    assert diff(ref, vec((A, "1")), ties=True) != []
