"""Test helpers: tripod set up with its spans, metric samples and log records kept in memory.

With pytest, installing tripod registers a fixture (a ``pytest11`` plugin)::

    def test_checkout(tripod_capture: tripod.testing.Capture) -> None:
        checkout()
        assert tripod_capture.sample("orders_total", status="ok") == 1
        [span] = tripod_capture.spans_as_dicts()
        assert span["context"] == {"trace_id": 1, "span_id": 1}

Without pytest, :class:`Capture` is a context manager::

    with Capture(service_name="shop") as cap:
        ...

Ids are fixed (trace ids and span ids count 1, 2, 3... in the order spans start) and so is the
clock of what :meth:`Capture.spans_as_dicts` and :meth:`Capture.records` return: the n-th
distinct instant, in order, reads as n seconds after the epoch (spans and log records are
each numbered on their own). So an assertion can compare whole values, and a test that
passes once passes every time. Durations measured inside the app (``duration_ms`` of the
access log, histogram sums) stay real.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator
from prometheus_client.parser import text_string_to_metric_families

from tripod import sdk
from tripod.sdk import logs, metrics, tracing

if TYPE_CHECKING:
    from tripod.config import Settings

__all__ = ["Capture", "FixedIdGenerator", "Sample"]

_SECOND = 1_000_000_000
_RFC3339 = "%Y-%m-%dT%H:%M:%S.%fZ"


class FixedIdGenerator(IdGenerator):
    """Trace ids and span ids that count 1, 2, 3... (each on its own), thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trace = 0
        self._span = 0

    def generate_trace_id(self) -> int:
        with self._lock:
            self._trace += 1
            return self._trace

    def generate_span_id(self) -> int:
        with self._lock:
            self._span += 1
            return self._span

    def is_trace_id_random(self) -> bool:
        return False


class _Spans(SpanExporter):
    """Keeps exported spans; outlives a shutdown, so a capture survives ``init()`` again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def clear(self) -> None:
        with self._lock:
            self.spans = []


class Sample(NamedTuple):
    """One sample of a scrape of /metrics: ``jobs_total{queue="email"} 3.0``."""

    name: str
    labels: dict[str, str]
    value: float


def _ticks(instants: Iterable[int]) -> dict[int, int]:
    """The fixed clock: each distinct instant, in order, becomes 1 s, 2 s, 3 s... (in ns)."""
    return {t: (i + 1) * _SECOND for i, t in enumerate(sorted(set(instants)))}


class Capture:
    """``tripod.init(**settings)`` with everything it records kept here; see the module doc.

    ``start()`` (or ``with``) forgets earlier metrics and set-up, initialises tripod, and
    captures; ``stop()`` shuts tripod down and forgets the metrics again, so nothing leaks
    into the next test. :meth:`init` re-initialises with other settings while capturing.
    """

    def __init__(self, *, fixed_ids: bool = True, **settings: Any) -> None:
        self._fixed_ids = fixed_ids
        self._settings = settings
        self._stream = io.StringIO()
        self._exporter = _Spans()
        self.settings: Settings | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> Capture:
        sdk.shutdown()
        metrics.reset()
        self.init(**self._settings)
        return self

    def init(self, **settings: Any) -> Settings:
        """(Re)initialise tripod with ``settings``, still capturing (ids start again at 1)."""
        tracing.use_id_generator(FixedIdGenerator() if self._fixed_ids else None)
        try:
            self.settings = sdk.init(**settings)
        finally:
            tracing.use_id_generator(None)  # only the provider built just now uses it
        logs.set_stream(self._stream)
        sdk.add_exporter(self._exporter)
        return self.settings

    def stop(self) -> None:
        sdk.shutdown()
        metrics.reset()

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear(self) -> None:
        """Forget the spans and log lines captured so far (metrics are cumulative: kept)."""
        tracing.force_flush(5.0)
        logs.flush()
        self._exporter.clear()
        self._stream.seek(0)
        self._stream.truncate()

    # --- spans ----------------------------------------------------------------------------
    @property
    def spans(self) -> list[ReadableSpan]:
        """Finished spans (sampled ones), in the order they ended; queued ones flushed first."""
        tracing.force_flush(5.0)
        return list(self._exporter.spans)

    def spans_as_dicts(self) -> list[dict[str, Any]]:
        """:attr:`spans` as plain dicts with fixed times, for whole-value assertions."""
        spans = self.spans
        instants: list[int] = []
        for span in spans:
            instants += [t for t in (span.start_time, span.end_time) if t is not None]
            instants += [event.timestamp for event in span.events]
        tick = _ticks(instants)
        return [_span_dict(span, tick) for span in spans]

    # --- metrics --------------------------------------------------------------------------
    def samples(self, name: str | None = None) -> list[Sample]:
        """Every sample /metrics shows now (or those named ``name``), as the text format has
        them: counters as ``<name>_total``, histograms as ``_bucket``/``_sum``/``_count``."""
        text = metrics.render()[0].decode("utf-8")
        return [
            Sample(s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if name is None or s.name == name
        ]

    def sample(self, name: str, /, **labels: str) -> float | None:
        """The value of the sample ``name`` with exactly these labels, or None."""
        for s in self.samples(name):
            if s.labels == labels:
                return s.value
        return None

    # --- logs -----------------------------------------------------------------------------
    @property
    def log_text(self) -> str:
        """Everything tripod's log handler wrote, as written (queued access lines first)."""
        logs.flush()
        return self._stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        """The JSON log records written so far, with ``timestamp`` read from the fixed clock."""
        records = list(logs.iter_json_lines(self.log_text))
        instants = {r["timestamp"]: _instant(r["timestamp"]) for r in records if "timestamp" in r}
        tick = _ticks(instants.values())
        for record in records:
            if "timestamp" in record:
                fixed = tick[instants[record["timestamp"]]] // _SECOND
                record["timestamp"] = datetime.fromtimestamp(fixed, UTC).strftime(_RFC3339)
        return records


def _instant(timestamp: str) -> int:
    parsed = datetime.strptime(timestamp, _RFC3339).replace(tzinfo=UTC)
    return int(parsed.timestamp()) * 1_000_000 + parsed.microsecond


def _span_dict(span: ReadableSpan, tick: dict[int, int]) -> dict[str, Any]:
    ctx = span.get_span_context()
    parent = span.parent
    return {
        "name": span.name,
        "context": {"trace_id": ctx.trace_id if ctx else 0, "span_id": ctx.span_id if ctx else 0},
        "parent": None
        if parent is None
        else {"trace_id": parent.trace_id, "span_id": parent.span_id},
        "kind": span.kind.name,
        "start_time": tick.get(span.start_time or 0, 0),
        "end_time": tick.get(span.end_time or 0, 0),
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "events": [
            {
                "name": event.name,
                "timestamp": tick[event.timestamp],
                "attributes": dict(event.attributes or {}),
            }
            for event in span.events
        ],
    }
