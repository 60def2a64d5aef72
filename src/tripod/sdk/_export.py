"""Bounded, non-blocking export: a queue per signal and a daemon thread that ships batches.

The request path only appends to a deque (dropping and counting when it is full); serialising
and sending happen on the worker thread. When the backend fails, the batch is dropped and
counted, and the worker backs off (1 s doubling to 30 s) without touching the queue, so a dead
collector costs the app neither CPU nor latency. ``shutdown()`` is bounded: at its deadline the
exporter is shut down, which aborts its retry sleep, and whatever is left is counted as dropped.
The worker is restarted in a forked child (gunicorn preload).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from opentelemetry import context as otel_context
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from tripod.sdk._otlp import LogItem, OtlpHttpSender, encode_logs, encode_spans
from tripod.sdk._serverspan import ServerSpan

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["BoundedLogProcessor", "BoundedQueue", "BoundedSpanProcessor", "LogItem"]

_log = logging.getLogger("tripod.export")
T = TypeVar("T")
DropCounter = Callable[[str, int], None]

_MAX_BACKOFF = 30.0
_live: weakref.WeakSet[BoundedQueue[Any]] = weakref.WeakSet()


class BoundedQueue(Generic[T]):
    """Items in, batches out on a daemon thread; never blocks the producer."""

    def __init__(
        self,
        signal: str,
        export: Callable[[Sequence[T]], bool],
        abort: Callable[[], None],
        on_drop: DropCounter,
        *,
        max_size: int = 2048,
        batch_size: int = 512,
        interval: float = 1.0,
        one_call: bool = False,
    ) -> None:
        self.signal = signal
        self._export = export
        self._abort = abort
        self._on_drop = on_drop
        self._max = max_size
        # one_call: each wake-up ships everything queued in one export call (one HTTP request
        # per interval per signal); the worker is woken early at half the bound.
        self._batch = max(1, max_size // 2) if one_call else min(batch_size, max_size)
        self._take_max = max_size if one_call else self._batch
        self._interval = interval
        self._queue: collections.deque[T] = collections.deque()
        self._wake = threading.Event()
        self._stopping = False
        self._busy = False
        # Items of the batch being exported; whoever settles it (the worker when the export
        # returns, or shutdown() when it gives up on a hanging one) takes it under the lock, so
        # a drop is counted once and before shutdown() returns.
        self._inflight = 0
        self._settle = threading.Lock()
        self._failures = 0
        self._retry_at = 0.0
        self.aborted = False
        self._start()
        _live.add(self)

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"tripod-export-{self.signal}", daemon=True
        )
        self._thread.start()

    def put(self, item: T) -> None:
        """Queue ``item``; when the queue is full, drop it and count the drop."""
        queue = self._queue
        if len(queue) >= self._max or self._stopping:
            self._dropped(1)
            return
        queue.append(item)
        if len(queue) >= self._batch:
            self._wake.set()

    def _dropped(self, count: int) -> None:
        with contextlib.suppress(Exception):
            self._on_drop(self.signal, count)

    def _take(self) -> list[T]:
        batch: list[T] = []
        queue = self._queue
        limit = self._take_max
        with self._settle:
            while queue and len(batch) < limit:
                batch.append(queue.popleft())
            self._inflight = len(batch)
        return batch

    def _settle_inflight(self, lost: bool) -> None:
        with self._settle:
            count, self._inflight = self._inflight, 0
            if lost and count:
                self._dropped(count)

    def _ship(self, batch: list[T]) -> bool:
        self._busy = True
        try:
            ok = self._export(batch)
        except Exception:
            ok = False
        finally:
            self._busy = False
        self._settle_inflight(lost=not ok)
        if ok:
            if self._failures:
                _log.warning("tripod: %s export recovered", self.signal)
            self._failures = 0
            return True
        if self._failures == 0:
            _log.warning(
                "tripod: %s export failed; dropping and counting in "
                "tripod_telemetry_dropped_total until the backend answers",
                self.signal,
            )
        self._failures += 1
        self._retry_at = time.monotonic() + min(_MAX_BACKOFF, 2.0 ** (self._failures - 1))
        return False

    def _run(self) -> None:
        # Our own HTTP export calls must not be traced by the httpx/requests instrumentations
        # (each export would make a span to export: a feedback loop).
        otel_context.attach(otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        while not self._stopping:
            wait = self._interval
            if self._failures:
                # Back off until the retry time; once it has passed, an empty queue waits for
                # the next interval (or a full batch) instead of spinning on a zero timeout.
                wait = self._retry_at - time.monotonic()
                if wait <= 0:
                    wait = 0.0 if self._queue else self._interval
            self._wake.wait(wait)
            self._wake.clear()
            if self._stopping:
                break
            if self._failures and time.monotonic() < self._retry_at:
                continue
            while self._queue and not self._stopping:
                if not self._ship(self._take()):
                    break
                if len(self._queue) < self._batch:
                    break
        # Final drain, attempted once even if the backend has been failing.
        while self._queue and not self.aborted:
            self._ship(self._take())

    def force_flush(self, timeout: float = 5.0) -> bool:
        """Ship what is queued now; True if the queue emptied within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        self._failures = 0
        self._wake.set()
        while (self._queue or self._busy) and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.005)
        return not self._queue and not self._busy

    def shutdown(self, timeout: float = 5.0) -> None:
        """Flush and stop within ``timeout`` seconds; what cannot be sent is counted as dropped."""
        if self._stopping:
            return
        deadline = time.monotonic() + timeout
        self._stopping = True
        self._wake.set()
        self._thread.join(max(0.0, deadline - time.monotonic() - 0.05))
        if self._thread.is_alive():
            self.aborted = True
            with contextlib.suppress(Exception):
                self._abort()
            self._thread.join(max(0.0, min(0.05, deadline - time.monotonic())))
        with self._settle:
            left = len(self._queue)
            self._queue.clear()
            if self._thread.is_alive():
                left += self._inflight  # still hanging: its batch is lost too
                self._inflight = 0
            if left:
                self._dropped(left)
        _live.discard(self)

    def _after_fork(self) -> None:
        self._queue = collections.deque()
        self._wake = threading.Event()
        self._settle = threading.Lock()  # the parent's may have been held at the fork
        self._inflight = 0
        self._busy = False
        if not self._stopping:
            self._start()


def _restart_in_child() -> None:
    for queue in list(_live):
        queue._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_in_child)


class BoundedSpanProcessor(SpanProcessor):
    """Sends ended, sampled spans through a :class:`BoundedQueue` (signal ``traces``).

    With tripod's own OTLP sender the export thread encodes each batch straight from the spans
    (tripod's request spans stay plain data end to end) and posts it in one call; with any other
    ``SpanExporter`` (gRPC, tests, extra sinks) request spans become SDK ``ReadableSpan``s first.
    """

    def __init__(
        self,
        exporter: SpanExporter | OtlpHttpSender,
        on_drop: DropCounter,
        *,
        max_size: int,
        shutdown_timeout: float,
    ) -> None:
        self._exporter = exporter
        self._timeout = shutdown_timeout
        export: Callable[[Sequence[ReadableSpan | ServerSpan]], bool]
        if isinstance(exporter, OtlpHttpSender):
            sender = exporter

            def export(batch: Sequence[ReadableSpan | ServerSpan]) -> bool:
                return sender.send(encode_spans(batch))

        else:
            from opentelemetry.sdk.trace.export import SpanExportResult

            sdk_exporter = exporter

            def export(batch: Sequence[ReadableSpan | ServerSpan]) -> bool:
                spans = [s.to_readable() if isinstance(s, ServerSpan) else s for s in batch]
                return sdk_exporter.export(spans) == SpanExportResult.SUCCESS

        self.queue: BoundedQueue[ReadableSpan | ServerSpan] = BoundedQueue(
            "traces", export, exporter.shutdown, on_drop, max_size=max_size, one_call=True
        )

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        ctx = span.context
        if ctx is not None and ctx.trace_flags.sampled:
            self.queue.put(span)

    def shutdown(self) -> None:
        self.queue.shutdown(self._timeout)
        if not self.queue.aborted:
            with contextlib.suppress(Exception):
                self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.queue.force_flush(timeout_millis / 1000)


class BoundedLogProcessor:
    """Sends log records through a :class:`BoundedQueue` (signal ``logs``).

    The request path queues a :data:`LogItem` tuple (≈ 1 µs); the export thread encodes the
    whole batch into one OTLP request body and posts it (no SDK ``LogRecord`` per record).
    """

    def __init__(
        self,
        sender: OtlpHttpSender,
        on_drop: DropCounter,
        *,
        resource: Any,
        scope: Any,
        max_size: int,
        shutdown_timeout: float,
    ) -> None:
        self._sender = sender
        self._timeout = shutdown_timeout

        def export(batch: Sequence[LogItem]) -> bool:
            return sender.send(encode_logs(batch, resource, scope))

        self.queue: BoundedQueue[LogItem] = BoundedQueue(
            "logs", export, sender.shutdown, on_drop, max_size=max_size, one_call=True
        )

    def put(self, item: LogItem) -> None:
        self.queue.put(item)

    def shutdown(self) -> None:
        self.queue.shutdown(self._timeout)
        if not self.queue.aborted:
            with contextlib.suppress(Exception):
                self._sender.shutdown()
