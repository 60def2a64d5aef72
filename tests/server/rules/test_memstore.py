"""The rule unit tests' in-memory store: ``select_flat`` (built in one pass, the engine's path)
answers exactly the stored samples in the range, series by series in label order, series of only
staleness markers left out (checked against a plain filter of what the store holds); ``select``
is the same split per series; and so it stays while samples and series are added between
selections (the store keeps each matcher list's series and numpy copies of the samples)."""

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
        want = []  # a plain filter of the stored series, independent of the store's windowing
        for key in sorted(store._series):
            held = store._series[key]
            if not all(m.matches(held.labels.get(m.name, "")) for m in matchers):
                continue
            pts = [(t, v) for t, v in zip(held.times, held.values, strict=True) if lo <= t <= hi]
            bits = [np.float64(v).view(np.uint64) for _, v in pts]
            if pts and not all(b == np.float64(STALE_NAN).view(np.uint64) for b in bits):
                want.append((held.labels, [t for t, _ in pts], [int(b) for b in bits]))
        assert labels == [w[0] for w in want]
        for i, (_, times, vbits) in enumerate(want):
            assert ts[starts[i] : ends[i]].tolist() == times
            assert values[starts[i] : ends[i]].view(np.uint64).tolist() == vbits
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


def _plain(
    store: MemorySampleStore, matchers: list[Matcher], lo: int, hi: int
) -> list[tuple[dict[str, str], list[int], list[int]]]:
    """What select_flat should answer, filtered from the store's lists."""
    stale = int(np.float64(STALE_NAN).view(np.uint64))
    want = []
    for key in sorted(store._series):
        held = store._series[key]
        if not all(m.matches(held.labels.get(m.name, "")) for m in matchers):
            continue
        pts = [(t, v) for t, v in zip(held.times, held.values, strict=True) if lo <= t <= hi]
        bits = [int(np.float64(v).view(np.uint64)) for _, v in pts]
        if pts and not all(b == stale for b in bits):
            want.append((held.labels, [t for t, _ in pts], bits))
    return want


def test_select_flat_follows_appends_between_selections() -> None:
    rng = random.Random(11)
    store = MemorySampleStore()
    clock = dict.fromkeys("abcdefgh", 0)
    selected = 0
    for _ in range(3000):
        if rng.random() < 0.6:
            job = rng.choice("abcdefgh"[: rng.randint(1, 8)])  # new series now and then
            clock[job] += rng.choice([0, 1, 1, 2]) * 1000  # the same time again, or later
            value = STALE_NAN if rng.random() < 0.25 else float(rng.randint(0, 3))
            labels = {"__name__": rng.choice(["x", "y"]), "job": job}
            store.append([Sample(labels, clock[job] - rng.choice([0, 0, 0, 3000]), value)])
            continue
        matchers = rng.choice(
            [[Matcher("__name__", "=", "x")], [Matcher("job", "=~", "a|c|e|g")], []]
        ) or [Matcher("__name__", "=~", ".+")]
        lo = rng.randint(-5, 400) * 1000
        hi = lo + rng.randint(0, 60) * 1000
        labels, ts, values, starts, ends = store.select_flat(matchers, lo, hi)
        want = _plain(store, matchers, lo, hi)
        assert labels == [w[0] for w in want]
        assert starts.tolist() == [0, *ends.tolist()][: len(ends)]
        for i, (_, times, vbits) in enumerate(want):
            assert ts[starts[i] : ends[i]].tolist() == times
            assert values[starts[i] : ends[i]].view(np.uint64).tolist() == vbits
        selected += len(labels)
    assert selected > 1000
