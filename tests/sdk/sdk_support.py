"""Shared set-up for the SDK tests: a clean tripod per test and an in-memory span capture."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tripod
from tripod.sdk import logs, metrics, tracing


def clean() -> Iterator[None]:
    """Use from an autouse fixture: nothing leaks from one test into the next."""
    tripod.shutdown()
    metrics.reset()
    yield
    tripod.shutdown()
    metrics.reset()


class Captured:
    """tripod initialised with its log lines in ``stream`` and its spans in memory."""

    def __init__(self, **settings: Any) -> None:
        self.stream = io.StringIO()
        self.settings = tripod.init(**settings)
        if logs._handler is not None:
            logs._handler.setStream(self.stream)
        self.exporter = InMemorySpanExporter()
        tracing.add_exporter(self.exporter)

    def spans(self) -> list[ReadableSpan]:
        tracing.force_flush(5.0)
        return list(self.exporter.get_finished_spans())

    def lines(self) -> list[dict[str, Any]]:
        return list(logs.iter_json_lines(self.stream.getvalue()))
