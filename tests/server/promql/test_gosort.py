"""Go 1.19's sort.Sort replayed on a list (gosort.py), and the tie orders built on it.

Whether the tie order is Go's own is proved against the real Prometheus 2.42 by the conformance
cases of the ``ties`` section (``exact=True``: label sets in Prometheus's order); here, that the
sort sorts through every branch of pdqsort, and what follows from Prometheus's code.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from tests.server.promql.memstore import MemStore
from tripod.server.promql.engine import Engine
from tripod.server.promql.gosort import go_sort


def _inputs() -> list[list[int]]:
    rng = random.Random(7)
    out: list[list[int]] = []
    for n in (0, 1, 2, 12, 13, 40, 49, 50, 51, 200, 1000):
        out.append([rng.randrange(1000) for _ in range(n)])  # distinct-ish: plain partitions
        out.append([rng.randrange(3) for _ in range(n)])  # many ties: the equal partition
        out.append(list(range(n)))  # sorted: the partial insertion sort
        out.append(list(range(n, 0, -1)))  # decreasing: the reversal hint
        nearly = list(range(n))
        for _ in range(3):
            if n > 1:
                i, j = rng.randrange(n), rng.randrange(n)
                nearly[i], nearly[j] = nearly[j], nearly[i]
        out.append(nearly)
        # organ pipe and sawtooth: unbalanced pivots, the pattern breaker and the heapsort
        out.append([min(i, n - i) for i in range(n)])
        out.append([i % 7 for i in range(n)])
    return out


@pytest.mark.parametrize("values", _inputs())
def test_sorts_every_shape(values: list[int]) -> None:
    items = [(v, i) for i, v in enumerate(values)]
    go_sort(items, lambda x, y: x[0] < y[0])
    assert [v for v, _ in items] == sorted(values)
    assert sorted(i for _, i in items) == list(range(len(values)))


def test_short_slices_are_insertion_sorted_hence_stable() -> None:
    items = [(1, "a"), (0, "b"), (1, "c"), (0, "d")]
    go_sort(items, lambda x, y: x[0] < y[0])
    assert items == [(0, "b"), (0, "d"), (1, "a"), (1, "c")]


def test_long_slices_are_not_stable() -> None:
    """pdqsort's partitions move equal elements past each other (Python's sort would not)."""
    rng = random.Random(3)
    moved = 0
    for _ in range(20):
        items = [(rng.randrange(4), i) for i in range(60)]
        go_sort(items, lambda x, y: x[0] < y[0])
        moved += items != sorted(items)
    assert moved > 0


def test_count_values_emits_values_in_first_seen_order() -> None:
    """As Prometheus's aggregation() (groups in order of their first input sample): so a topk
    over count_values breaks ties by that order, not by the value."""
    store = MemStore()
    for i, value in enumerate([9, 2, 9, 5, 2, 5]):
        store.add("m", {"i": str(i)}, [(0, value)])
    result = Engine(store).instant('count_values("v", m)', 10_000)
    assert [dict(lab)["v"] for lab in result.value.labels] == ["9", "2", "5"]  # type: ignore[union-attr]
    top = Engine(store).instant('topk(1, count_values("v", m))', 10_000)
    assert [dict(lab)["v"] for lab in top.value.labels] == ["9"]  # type: ignore[union-attr]
    bottom = Engine(store).instant('bottomk(1, count_values("v", m))', 10_000)
    assert np.asarray(bottom.value.values).ravel().tolist() == [2.0]  # type: ignore[union-attr]
    assert [dict(lab)["v"] for lab in bottom.value.labels] == ["9"]  # type: ignore[union-attr]
