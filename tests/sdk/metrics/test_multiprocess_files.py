"""The multi-process files with real forked processes: live values summed, dead workers'
counters and histograms folded into the archive, their gauges dropped, liveall by pid."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tripod.sdk.metrics import MetricsRegistry
from tripod.sdk.metrics._instruments import Counter, Gauge, Histogram
from tripod.sdk.metrics._multiprocess import MultiProcessValueFactory


def _registry(directory: Path) -> tuple[MetricsRegistry, Counter, Gauge, Gauge, Histogram]:
    registry = MetricsRegistry(factory=MultiProcessValueFactory(directory, process_metrics=False))
    jobs = registry.register(lambda f: Counter("jobs", "Jobs.", ["q"], "", factory=f), Counter)
    busy = registry.register(lambda f: Gauge("busy", "Busy.", [], "", factory=f), Gauge)

    def per_pid(f: MultiProcessValueFactory) -> Gauge:
        made = Gauge("mem", "Mem.", [], "", factory=f)
        made.multiprocess_mode = "liveall"
        return made

    mem = registry.register(per_pid, Gauge)  # type: ignore[arg-type]
    lat = registry.register(
        lambda f: Histogram("lat", "Lat.", [], "seconds", factory=f, buckets=[0.1, 1.0]), Histogram
    )
    return registry, jobs, busy, mem, lat


def _record_in_child(jobs: Counter, busy: Gauge, mem: Gauge, lat: Histogram) -> tuple[int, int]:
    """Fork a worker that records, then waits for a byte before exiting: (pid, write fd)."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        jobs.labels("a").inc(2)
        busy.set(5)
        mem.set(7)
        lat.observe(0.5)
        os.write(ready_w, b"x")
        os.read(go_r, 1)
        os._exit(0)
    os.read(ready_r, 1)
    return pid, go_w


def _text(registry: MetricsRegistry) -> str:
    return registry.render(openmetrics=False).decode()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_live_sum_then_dead_worker_folded(tmp_path: Path) -> None:
    registry, jobs, busy, mem, lat = _registry(tmp_path)
    jobs.labels("a").inc(1)
    busy.set(1)
    mem.set(3)
    pid, go = _record_in_child(jobs, busy, mem, lat)
    text = _text(registry)
    assert 'jobs_total{q="a"} 3.0' in text
    assert "busy 6.0" in text
    assert f'mem{{pid="{os.getpid()}"}} 3.0' in text
    assert f'mem{{pid="{pid}"}} 7.0' in text
    assert "lat_seconds_count 1.0" in text

    os.write(go, b"x")
    os.waitpid(pid, 0)
    text = _text(registry)
    assert 'jobs_total{q="a"} 3.0' in text  # never backwards
    assert "lat_seconds_count 1.0" in text
    assert "busy 1.0" in text  # the dead worker's gauge is dropped
    assert f'pid="{pid}"' not in text
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["archive.db", f"w-{os.getpid()}.db"]


def test_a_reused_pid_keeps_the_old_counts(tmp_path: Path) -> None:
    _, jobs, *_ = _registry(tmp_path)
    jobs.labels("a").inc(4)
    # A new process with the same pid (its predecessor died unscraped) starts from the file.
    registry2, jobs2, *_ = _registry(tmp_path)
    jobs2.labels("a").inc(1)
    assert 'jobs_total{q="a"} 5.0' in _text(registry2)
    assert (tmp_path / "archive.db").exists()


def test_gauge_helper_rejects_an_unknown_mode() -> None:
    from tripod.sdk.metrics import gauge

    with pytest.raises(ValueError, match="livesum"):
        gauge("x_mode_test", "X.", multiprocess_mode="max")
