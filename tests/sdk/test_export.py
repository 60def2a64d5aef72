"""The bounded export queue: never blocks the producer, drops and counts, bounded shutdown."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest

from tripod.sdk._export import BoundedQueue


class Drops:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, signal: str, n: int) -> None:
        self.counts[signal] = self.counts.get(signal, 0) + n


@pytest.fixture
def drops() -> Drops:
    return Drops()


def test_full_queue_drops_and_counts_without_blocking(drops: Drops) -> None:
    release = threading.Event()
    exported: list[int] = []

    def export(batch: Sequence[int]) -> bool:
        release.wait(10)
        exported.extend(batch)
        return True

    queue: BoundedQueue[int] = BoundedQueue(
        "traces", export, release.set, drops, max_size=10, batch_size=5, interval=0.01
    )
    for i in range(100):
        queue.put(i)  # the exporter is stuck: these must return at once
    assert drops.counts["traces"] >= 80
    release.set()
    assert queue.force_flush(5)
    assert len(exported) + drops.counts["traces"] == 100
    queue.shutdown(1)


def test_failed_exports_are_counted_and_backed_off(drops: Drops) -> None:
    calls: list[int] = []

    def export(batch: Sequence[int]) -> bool:
        calls.append(len(batch))
        return False

    queue: BoundedQueue[int] = BoundedQueue(
        "logs", export, lambda: None, drops, max_size=100, batch_size=10, interval=0.01
    )
    for i in range(10):
        queue.put(i)
    deadline = time.monotonic() + 5
    while drops.counts.get("logs", 0) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert drops.counts["logs"] == 10
    for i in range(10):
        queue.put(i)
    time.sleep(0.3)
    assert len(calls) == 1  # backing off: no new attempt within the first second
    queue.shutdown(1)
    assert drops.counts["logs"] == 20


def test_exporter_exceptions_count_as_failures(drops: Drops) -> None:
    def export(batch: Sequence[int]) -> bool:
        raise RuntimeError

    queue: BoundedQueue[int] = BoundedQueue(
        "traces", export, lambda: None, drops, max_size=10, interval=0.01
    )
    queue.put(1)
    queue.shutdown(1)
    assert drops.counts["traces"] == 1


def test_shutdown_is_bounded_and_aborts_a_hanging_export(drops: Drops) -> None:
    aborted = threading.Event()

    def export(batch: Sequence[int]) -> bool:
        aborted.wait(30)
        return False

    queue: BoundedQueue[int] = BoundedQueue(
        "traces", export, aborted.set, drops, max_size=1000, batch_size=10, interval=0.01
    )
    for i in range(500):
        queue.put(i)
    time.sleep(0.05)
    start = time.monotonic()
    queue.shutdown(0.5)
    # Bounded: a hanging export would never return; the slack is for a loaded machine.
    assert time.monotonic() - start < 0.5 + 2.0
    assert aborted.is_set()
    assert drops.counts["traces"] == 500
    queue.put(1)  # after shutdown: dropped, counted, no error
    assert drops.counts["traces"] == 501


def test_a_batch_still_hanging_after_shutdown_is_counted_once_before_it_returns(
    drops: Drops,
) -> None:
    # An exporter that ignores the abort for a while: shutdown() returns with its batch still
    # in flight. Its items are lost, so they are counted by the time shutdown() returns, and
    # not a second time when the export finally fails.
    release = threading.Event()
    finished = threading.Event()

    def export(batch: Sequence[int]) -> bool:
        release.wait(30)
        finished.set()
        return False

    queue: BoundedQueue[int] = BoundedQueue(
        "traces", export, lambda: None, drops, max_size=100, batch_size=10, interval=0.01
    )
    for i in range(50):
        queue.put(i)
    _wait_until(lambda: queue._busy)  # the first batch of 10 is in the exporter
    queue.shutdown(0.2)
    assert queue._thread.is_alive()
    assert drops.counts["traces"] == 50
    release.set()
    assert finished.wait(10)
    queue._thread.join(10)
    assert not queue._thread.is_alive()
    assert drops.counts["traces"] == 50


def _wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.005)


class _CountingEvent(threading.Event):
    """An Event that counts how often the worker waits on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        return super().wait(timeout)


def test_idle_worker_after_a_failure_does_not_spin(drops: Drops) -> None:
    # Regression: once the retry time had passed with nothing queued, the worker waited with a
    # zero timeout in a loop, burning a core in an idle app whose collector was down.
    queue: BoundedQueue[int] = BoundedQueue(
        "traces", lambda batch: False, lambda: None, drops, max_size=10, batch_size=5,
        interval=0.2,
    )  # fmt: skip
    try:
        queue.put(1)
        assert queue.force_flush(5) is True  # shipped once, failed, dropped and counted
        assert drops.counts["traces"] == 1
        counting = _CountingEvent()
        queue._wake = counting  # the worker reads the attribute on every turn
        time.sleep(2.5)  # past the 1 s back-off, then idle with an empty queue
        # One wait per interval (about a dozen here); the spinning worker made millions.
        assert counting.waits < 100, counting.waits
    finally:
        queue.shutdown(1)
