"""``histogram_quantile``'s all-steps-at-once path gives the very floats of the per-step
``bucket_quantile`` (Prometheus's bucketQuantile) on every step it takes."""

from __future__ import annotations

import math

import numpy as np

from tripod.server.promql.histograms import _fast_steps, _quantiles, bucket_quantile


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def test_all_steps_path_equals_bucket_quantile() -> None:
    rng = np.random.default_rng(7)
    taken = 0
    for _ in range(400):
        finite = rng.choice([-1.0, 0.0, 0.1, 0.5, 1.0, 2.5, 10.0], int(rng.integers(1, 7)))
        bounds = [*sorted(set(finite.tolist())), math.inf]
        rng.shuffle(bounds)  # type: ignore[arg-type]
        steps = 16
        if rng.random() < 0.5:
            counts = rng.choice(
                [0.0, 1.0, 2.0, 5.0, -1.0, math.inf, math.nan], (len(bounds), steps)
            )
        else:
            counts = np.cumsum(rng.integers(0, 4, (len(bounds), steps)), axis=0).astype(float)
        qs = rng.choice([0.0, 0.25, 0.5, 0.99, 1.0, -0.5, 1.5, math.nan], steps)
        present = rng.random((len(bounds), steps)) < 0.9
        fast = _fast_steps(qs, bounds, present, counts)
        got = _quantiles(qs[fast], bounds, counts[:, fast]).tolist()
        for t, value in zip(np.flatnonzero(fast).tolist(), got, strict=True):
            buckets = [(bounds[j], float(counts[j, t])) for j in range(len(bounds))]
            assert _same(value, bucket_quantile(float(qs[t]), buckets)), (bounds, counts[:, t])
        taken += int(fast.sum())
    assert taken > 1000  # the fast path did answer most steps
