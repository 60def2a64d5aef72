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

import random
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Decision, ParentBased, Sampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)
from opentelemetry.util import types

__all__ = ["ServerSpan", "ServerSpanFactory"]

_OK_TYPES = (str, bool, int, float)
_SAMPLED = (Decision.RECORD_AND_SAMPLE,)
_RECORDING = (Decision.RECORD_ONLY, Decision.RECORD_AND_SAMPLE)
_UNSET = Status(StatusCode.UNSET)  # immutable: shared by every new span
_NO_EVENTS: tuple[Event, ...] = ()
# TraceFlags objects for the four flag values a server span can have (built once, not per span).
_FLAGS = {f: TraceFlags(f) for f in (0, 1, 2, 3)}
_SAMPLED_FLAG = TraceFlags.SAMPLED
_RANDOM_FLAG = TraceFlags.RANDOM_TRACE_ID
_DEFAULT_STATE = trace.DEFAULT_TRACE_STATE
_getrandbits = random.getrandbits
_new_context = tuple.__new__


def _sampling_shortcut(sampler: Sampler) -> str:
    """How :meth:`ServerSpanFactory.start` may decide without calling ``sampler``:

    - ``"always"``: ``ALWAYS_ON`` (sample everything, keep the parent's trace state);
    - ``"parent"``: ``ParentBased(ALWAYS_ON)`` with the default delegates (the SDK's and tripod's
      default): a root span is sampled, a child follows its parent's ``sampled`` flag;
    - ``""``: any other sampler is called as the SDK would call it.

    Both shortcuts give exactly the ``SamplingResult`` those samplers return (decision, the
    parent's trace state, the attributes unchanged), without their per-call allocations.
    """
    if sampler is ALWAYS_ON:
        return "always"
    if type(sampler) is ParentBased:
        delegates = (
            getattr(sampler, "_root", None),
            getattr(sampler, "_remote_parent_sampled", None),
            getattr(sampler, "_remote_parent_not_sampled", None),
            getattr(sampler, "_local_parent_sampled", None),
            getattr(sampler, "_local_parent_not_sampled", None),
        )
        if delegates == (ALWAYS_ON, ALWAYS_ON, ALWAYS_OFF, ALWAYS_ON, ALWAYS_OFF):
            return "parent"
    return ""


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
        self._events: list[Event] | None = None  # made on the first event
        self._status = _UNSET
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
            if self._events is None:
                self._events = []
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
        return self._events if self._events is not None else _NO_EVENTS

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
            events=tuple(self._events or ()),
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
        # The SDK's RandomIdGenerator is random.getrandbits in a loop: called inline.
        self._inline_ids = type(self.ids) is RandomIdGenerator
        self._shortcut = _sampling_shortcut(self.sampler)
        self.resource = provider.resource
        self.scope = InstrumentationScope("tripod")
        self.sink = sink

    def start(
        self, name: str, parent_ctx: otel_context.Context | None, attributes: dict[str, Any]
    ) -> trace.Span:
        parent = trace.get_current_span(parent_ctx).get_span_context() if parent_ctx else None
        if parent is not None and parent.is_valid:
            trace_id = parent.trace_id
            random_id = bool(parent.trace_flags & _RANDOM_FLAG)
        else:
            parent = None
            if self._inline_ids:
                trace_id = _getrandbits(128) or self.ids.generate_trace_id()
            else:
                trace_id = self.ids.generate_trace_id()
            random_id = self.random_ids
        shortcut = self._shortcut
        trace_state: TraceState | None
        if shortcut and (parent is None or shortcut == "always" or parent.trace_flags.sampled):
            sampled, recording = True, True
            trace_state = parent.trace_state if parent is not None else _DEFAULT_STATE
        elif shortcut:  # ParentBased, parent not sampled: ALWAYS_OFF drops
            sampled, recording = False, False
            trace_state = parent.trace_state if parent is not None else _DEFAULT_STATE
        else:
            result = self.sampler.should_sample(
                parent_ctx, trace_id, name, SpanKind.SERVER, attributes, None
            )
            sampled = result.decision in _SAMPLED
            recording = result.decision in _RECORDING
            trace_state = result.trace_state
            if recording and result.attributes:
                attributes.update(result.attributes)
        flags = _FLAGS[(_SAMPLED_FLAG if sampled else 0) | (_RANDOM_FLAG if random_id else 0)]
        if self._inline_ids:
            span_id = _getrandbits(64) or self.ids.generate_span_id()
            # What SpanContext() builds, without re-checking ids known to be valid.
            context = _new_context(
                SpanContext,
                (trace_id, span_id, False, flags, trace_state or _DEFAULT_STATE, True),
            )
        else:
            context = SpanContext(
                trace_id,
                self.ids.generate_span_id(),
                is_remote=False,
                trace_flags=flags,
                trace_state=trace_state,
            )
        if not recording:
            return trace.NonRecordingSpan(context)
        return ServerSpan(name, context, parent, SpanKind.SERVER, attributes, self)
