"""Propagation: the request's correlation id, bound log fields, W3C headers and trace ids.

Trace and span ids are spelt here, once, as W3C Trace Context spells them (32 and 16
lower-case hex digits): logs, exemplars and the access log all take them from :func:`span_ids`.
The correlation id and bound fields live in :mod:`contextvars`, so they follow a request across
``await`` and into threads started with a copied context, and never leak between requests.
Outgoing calls get ``traceparent``/``tracestate``/``baggage`` from OpenTelemetry's propagators and
the correlation id header from :class:`CorrelationIdPropagator`, which :func:`configure` adds to the
global propagator so OpenTelemetry's own httpx/requests instrumentations carry it too.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import re
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar, Token
from types import ModuleType
from typing import TYPE_CHECKING, Any

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator


def _import_propagate() -> ModuleType:
    """``opentelemetry.propagate``, imported without its ``OTEL_PROPAGATORS`` lookup.

    On import that module builds the global propagator from ``OTEL_PROPAGATORS`` when it is
    set, through an entry-point scan of every installed distribution (``importlib.metadata``:
    ≈ 20 ms of start-up here, more with many packages). :func:`configure` replaces that
    propagator in ``init()`` whatever it was, so the variable is hidden for the import; the
    module then starts with OpenTelemetry's default (tracecontext + baggage) until ``init()``.
    An app that imported the module first keeps what it got.
    """
    name = "OTEL_PROPAGATORS"
    configured = os.environ.get(name)
    if configured is None or "opentelemetry.propagate" in sys.modules:
        return importlib.import_module("opentelemetry.propagate")
    del os.environ[name]
    try:
        return importlib.import_module("opentelemetry.propagate")
    finally:
        os.environ[name] = configured


if TYPE_CHECKING:
    from opentelemetry import propagate
else:
    propagate = _import_propagate()

__all__ = [
    "BAGGAGE_KEY",
    "CorrelationIdPropagator",
    "bind",
    "bound",
    "bound_fields",
    "clean_correlation_id",
    "configure",
    "correlation_id",
    "current_span_ids",
    "extract",
    "inject_headers",
    "new_correlation_id",
    "sampled_span_ids",
    "span_ids",
    "unbind",
]

#: Baggage entry carrying the correlation id to downstream services.
BAGGAGE_KEY = "correlation_id"
REQUEST_ID_HEADER = "x-request-id"

# uuid4 layout: version nibble 4, variant bits 10.
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_SET = (0x4 << 76) | (0x2 << 62)

_correlation: ContextVar[str | None] = ContextVar("tripod_correlation_id", default=None)
_bound: ContextVar[Mapping[str, Any]] = ContextVar("tripod_bound_fields", default={})  # noqa: B039

# What we accept from a client as a correlation id: short, printable, no separators that would
# let a caller forge log fields or headers.
_VALID_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")


def span_ids(ctx: trace.SpanContext) -> tuple[str, str]:
    """(trace id, span id) of ``ctx`` in W3C hex: 32 and 16 lower-case digits."""
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def current_span_ids() -> tuple[str, str] | None:
    """The ids of the current span, or None outside a valid span."""
    ctx = trace.get_current_span().get_span_context()
    return span_ids(ctx) if ctx.is_valid else None


def sampled_span_ids() -> tuple[str, str] | None:
    """The ids of the current span if it is sampled (what an exemplar may point to), else None."""
    ctx = trace.get_current_span().get_span_context()
    return span_ids(ctx) if ctx.trace_flags.sampled else None


def new_correlation_id() -> str:
    """A fresh correlation id: a random (version 4) UUID as 32 hex digits.

    Built from ``random.getrandbits`` rather than ``uuid.uuid4()`` (os.urandom): four times
    cheaper, and a correlation id needs uniqueness, not unpredictability.
    """
    bits = (random.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET
    return f"{bits:032x}"


def clean_correlation_id(value: str | None) -> str:
    """``value`` if it is an acceptable id from a client, else a fresh one."""
    if value and _VALID_ID.fullmatch(value):
        return value
    return new_correlation_id()


def correlation_id() -> str | None:
    """The correlation id of the request being handled, if any."""
    return _correlation.get()


def set_correlation_id(value: str | None) -> Token[str | None]:
    """Set the current correlation id; reset with ``reset_correlation_id(token)``."""
    return _correlation.set(value)


def reset_correlation_id(token: Token[str | None]) -> None:
    _correlation.reset(token)


def bound_fields() -> Mapping[str, Any]:
    """Fields bound with :func:`bind` in the current context (read-only view)."""
    return _bound.get()


def bind(**fields: Any) -> None:
    """Add ``fields`` to every log record written from the current context (request, task)."""
    _bound.set({**_bound.get(), **fields})


def unbind(*keys: str) -> None:
    """Remove bound fields by name; unknown names are ignored."""
    current = _bound.get()
    _bound.set({k: v for k, v in current.items() if k not in keys})


def reset_bound() -> Token[Mapping[str, Any]]:
    """Start a request with no bound fields (threads of a WSGI server are reused)."""
    return _bound.set({})


def restore_bound(token: Token[Mapping[str, Any]]) -> None:
    _bound.reset(token)


@contextlib.contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Bind ``fields`` for the duration of a ``with`` block."""
    token = _bound.set({**_bound.get(), **fields})
    try:
        yield
    finally:
        _bound.reset(token)


class CorrelationIdPropagator(TextMapPropagator):
    """Carries the correlation id in a plain header (``X-Correlation-ID`` by default).

    ``inject`` writes the current correlation id; ``extract`` reads the header (or
    ``X-Request-ID``) into the returned context's baggage.
    """

    def __init__(self, header: str = "X-Correlation-ID") -> None:
        self.header = header

    def extract(
        self,
        carrier: CarrierT,
        context: otel_context.Context | None = None,
        getter: Getter[CarrierT] = default_getter,
    ) -> otel_context.Context:
        ctx = context if context is not None else otel_context.get_current()
        for name in (self.header, self.header.lower(), REQUEST_ID_HEADER):
            values = getter.get(carrier, name)
            if values and values[0] and _VALID_ID.fullmatch(values[0]):
                return baggage.set_baggage(BAGGAGE_KEY, values[0], ctx)
        return ctx

    def inject(
        self,
        carrier: CarrierT,
        context: otel_context.Context | None = None,
        setter: Setter[CarrierT] = default_setter,
    ) -> None:
        value = _correlation.get()
        if value is None:
            found = baggage.get_baggage(BAGGAGE_KEY, context)
            value = found if isinstance(found, str) else None
        if value is not None:
            setter.set(carrier, self.header, value)

    @property
    def fields(self) -> set[str]:
        return {self.header}


_propagator: TextMapPropagator = CompositePropagator(
    [TraceContextTextMapPropagator(), W3CBaggagePropagator(), CorrelationIdPropagator()]
)


def configure(header: str) -> None:
    """Install tracecontext + baggage + correlation-id as the global propagator."""
    global _propagator
    _propagator = CompositePropagator(
        [TraceContextTextMapPropagator(), W3CBaggagePropagator(), CorrelationIdPropagator(header)]
    )
    propagate.set_global_textmap(_propagator)


def inject_headers(headers: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Add ``traceparent``, ``tracestate``, ``baggage`` and the correlation id to ``headers``.

    For outgoing calls made with a client tripod does not instrument. Returns ``headers``
    (a new dict when none is given). Never raises.
    """
    carrier: MutableMapping[str, str] = {} if headers is None else headers
    with contextlib.suppress(Exception):
        propagate.inject(carrier)
    return carrier


def extract(headers: Mapping[str, str]) -> otel_context.Context:
    """The OpenTelemetry context carried by incoming ``headers`` (lower-case keys)."""
    return propagate.extract(headers)
