"""The per-request server span, built for the hot path.

The OpenTelemetry SDK's span costs ~18 µs to start and end (locks, attribute validation into
``BoundedAttributes``, processor fan-out) before any attribute is set — most of tripod's whole
per-request budget (see docs/benchmarks.md). The server span's attributes are produced by
tripod itself (strings and ints it already validated), so :class:`ServerSpan` keeps them in a
plain dict and only records what happened; the export worker turns it into an SDK
``ReadableSpan`` off the request path. It is a real, recording ``opentelemetry.trace.Span``:
user code can ``trace.get_current_span().set_attribute(...)``, add events, record exceptions,
and child spans made by the SDK parent to it. Sampling and ids come from the provider's own
sampler and id generator, so behaviour matches SDK spans.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util import types

__all__ = ["ServerSpan", "ServerSpanFactory"]

_OK_TYPES = (str, bool, int, float)
_SAMPLED = (Decision.RECORD_AND_SAMPLE,)
_RECORDING = (Decision.RECORD_ONLY, Decision.RECORD_AND_SAMPLE)


def _value(value: Any) -> Any:
    if isinstance(value, _OK_TYPES):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return tuple(v if isinstance(v, _OK_TYPES) else str(v) for v in value)
    return str(value)


class ServerSpan(trace.Span):
    """A recording span whose state is plain data until the export worker converts it."""

    __slots__ = (
        "_ended",
        "_events",
        "_factory",
        "_status",
        "attributes",
        "context",
        "end_time",
        "kind",
        "name",
        "parent",
        "start_time",
    )

    def __init__(  # noqa: PLR0917 (built in one place; positional for speed)
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: dict[str, Any],
        factory: ServerSpanFactory,
    ) -> None:
        self.name = name
        self.context = context
        self.parent = parent
        self.kind = kind
        self.attributes = attributes
        self.start_time = time.time_ns()
        self.end_time: int | None = None
        self._events: list[Event] = []
        self._status = Status(StatusCode.UNSET)
        self._factory = factory
        self._ended = False

    def get_span_context(self) -> SpanContext:
        return self.context

    def is_recording(self) -> bool:
        return not self._ended

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        if not self._ended:
            for key, value in attributes.items():
                self.attributes[key] = _value(value)

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        if not self._ended:
            self.attributes[key] = _value(value)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        if not self._ended:
            attrs = {k: _value(v) for k, v in (attributes or {}).items()}
            self._events.append(Event(name, attrs, timestamp or time.time_ns()))

    def update_name(self, name: str) -> None:
        if not self._ended:
            self.name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._ended:
            return
        new = status if isinstance(status, Status) else Status(status, description)
        # As in the SDK: OK is final, UNSET never overrides.
        if (
            self._status.status_code is not StatusCode.OK
            and new.status_code is not StatusCode.UNSET
        ):
            self._status = new

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        module = type(exception).__module__
        qualname = type(exception).__qualname__
        attrs: dict[str, Any] = {
            "exception.type": f"{module}.{qualname}" if module != "builtins" else qualname,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        attrs.update(attributes or {})
        self.add_event("exception", attrs, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        self.end_time = end_time or time.time_ns()
        self._factory.sink(self)

    # What the OTLP encoder reads, named as on the SDK's ReadableSpan.
    @property
    def resource(self) -> Resource:
        return self._factory.resource

    @property
    def instrumentation_scope(self) -> InstrumentationScope:
        return self._factory.scope

    @property
    def status(self) -> Status:
        return self._status

    @property
    def events(self) -> Sequence[Event]:
        return self._events

    @property
    def links(self) -> Sequence[Any]:
        return ()

    def to_readable(self) -> ReadableSpan:
        """The SDK's view of this span, for exporters (called on the export thread)."""
        return ReadableSpan(
            name=self.name,
            context=self.context,
            parent=self.parent,
            resource=self._factory.resource,
            attributes=self.attributes,
            events=tuple(self._events),
            kind=self.kind,
            status=self._status,
            start_time=self.start_time,
            end_time=self.end_time,
            instrumentation_scope=self._factory.scope,
        )


class ServerSpanFactory:
    """Starts :class:`ServerSpan`s with the provider's sampler and id generator."""

    def __init__(self, provider: TracerProvider, sink: Callable[[ServerSpan], None]) -> None:
        self.sampler = provider.sampler
        self.ids = provider.id_generator
        self.random_ids = bool(self.ids.is_trace_id_random())
        self.resource = provider.resource
        self.scope = InstrumentationScope("tripod")
        self.sink = sink

    def start(
        self, name: str, parent_ctx: otel_context.Context | None, attributes: dict[str, Any]
    ) -> trace.Span:
        parent = trace.get_current_span(parent_ctx).get_span_context() if parent_ctx else None
        if parent is not None and parent.is_valid:
            trace_id = parent.trace_id
            random_id = bool(parent.trace_flags & TraceFlags.RANDOM_TRACE_ID)
        else:
            parent = None
            trace_id = self.ids.generate_trace_id()
            random_id = self.random_ids
        result = self.sampler.should_sample(
            parent_ctx, trace_id, name, SpanKind.SERVER, attributes, None
        )
        flags = TraceFlags.SAMPLED if result.decision in _SAMPLED else TraceFlags.DEFAULT
        if random_id:
            flags |= TraceFlags.RANDOM_TRACE_ID
        context = SpanContext(
            trace_id,
            self.ids.generate_span_id(),
            is_remote=False,
            trace_flags=TraceFlags(flags),
            trace_state=result.trace_state,
        )
        if result.decision not in _RECORDING:
            return trace.NonRecordingSpan(context)
        if result.attributes:
            attributes.update(result.attributes)
        return ServerSpan(name, context, parent, SpanKind.SERVER, attributes, self)
