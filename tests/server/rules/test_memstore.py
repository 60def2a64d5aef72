"""The rule unit tests' in-memory store: ``select_flat`` (built in one pass, the engine's path)
answers exactly what ``select`` does, flattened, series of only staleness markers left out."""

from __future__ import annotations

import random

import numpy as np

from tripod.server.rules.memstore import MemorySampleStore
from tripod.server.store.model import STALE_NAN, Matcher, Sample


def test_select_flat_is_select_flattened() -> None:
    rng = random.Random(7)
    store = MemorySampleStore()
    for _ in range(400):
        labels = {"__name__": rng.choice(["x", "y"]), "job": rng.choice("abcd")}
        value = STALE_NAN if rng.random() < 0.3 else rng.random()
        store.append([Sample(labels, rng.randint(0, 60) * 1000, value)])
    store.append([Sample({"__name__": "x", "job": "stale"}, 5000, STALE_NAN)])
    checked = empty = 0
    for _ in range(300):
        matchers = rng.choice(
            [[Matcher("__name__", "=", "x")], [Matcher("job", "=~", "a|b|stale")], []]
        ) or [Matcher("__name__", "=~", ".+")]
        lo = rng.randint(-5, 60) * 1000
        hi = lo + rng.randint(0, 30) * 1000
        found = store.select(matchers, lo, hi)
        labels, ts, values, starts, ends = store.select_flat(matchers, lo, hi)
        assert labels == [s.labels for s in found]
        assert {"__name__": "x", "job": "stale"} not in labels
        assert ts.dtype == np.int64
        assert values.dtype == np.float64
        assert starts.tolist() == [0, *ends.tolist()][: len(ends)]
        for i, series in enumerate(found):
            assert ts[starts[i] : ends[i]].tolist() == series.timestamps.tolist()
            got = values[starts[i] : ends[i]]
            assert got.view(np.uint64).tolist() == series.values.view(np.uint64).tolist()
        checked += len(found)
        empty += not found
    assert checked > 300  # the draw covered series found and none found
    assert empty > 0
