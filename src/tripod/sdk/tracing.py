"""Traces: the TracerProvider, its OTLP exporter, sampling, and the ``span``/``traced`` helpers.

:func:`configure` builds a fresh SDK ``TracerProvider`` on every ``tripod.init()`` (tests and
users may re-initialise); the OpenTelemetry global is set once to a small delegating provider so
third-party instrumentations always reach the current one. Spans leave through
:class:`~tripod.sdk._export.BoundedSpanProcessor`: a full queue or a dead collector drops and
counts, never blocks.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
import platform
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from opentelemetry import trace
from opentelemetry.sdk.resources import (
    OTELResourceDetector,
    Resource,
    ResourceDetector,
    ServiceInstanceIdResourceDetector,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.util.types import Attributes

from tripod.config import ConfigError, Settings
from tripod.sdk._export import BoundedSpanProcessor, DropCounter
from tripod.sdk._otlp import OtlpHttpSender
from tripod.sdk._serverspan import ServerSpan, ServerSpanFactory

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = [
    "add_exporter",
    "build_resource",
    "configure",
    "current_tracer",
    "force_flush",
    "server_spans",
    "shutdown",
    "span",
    "traced",
    "use_id_generator",
]

P = ParamSpec("P")
R = TypeVar("R")

_provider: TracerProvider | None = None
_tracer: trace.Tracer | None = None
_server_spans: ServerSpanFactory | None = None
_processors: list[BoundedSpanProcessor] = []
_settings: Settings | None = None
_on_drop: DropCounter = lambda signal, n: None  # noqa: E731
_id_generator: IdGenerator | None = None


def build_resource(settings: Settings) -> Resource:
    """The process's resource: service, deployment, host, process and SDK attributes."""
    attrs: dict[str, Any] = {
        "host.name": socket.gethostname(),
        "process.pid": os.getpid(),
        "process.runtime.name": sys.implementation.name,
        "process.runtime.version": platform.python_version(),
        "process.runtime.description": sys.version,
        "process.executable.path": sys.executable,
    }
    attrs.update(settings.resource_attributes)
    attrs["service.name"] = settings.service_name
    if settings.service_version:
        attrs["service.version"] = settings.service_version
    if settings.environment:
        attrs["deployment.environment.name"] = settings.environment
    if os.environ.get("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "").strip():
        return Resource.create(attrs)  # the detectors the user chose, as the SDK loads them
    return _create_resource(attrs)


def _create_resource(attrs: dict[str, Any]) -> Resource:
    """``Resource.create(attrs)`` with the SDK's two default detectors (``service.instance.id``
    and ``OTEL_RESOURCE_ATTRIBUTES``/``OTEL_SERVICE_NAME``) run in turn on this thread: the
    SDK runs them on a thread pool it starts and joins, which was most of ``init()``'s time."""
    from opentelemetry.sdk.version import __version__ as sdk_version

    resource = Resource(
        {
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.version": sdk_version,
        }
    )
    detectors: tuple[ResourceDetector, ...] = (
        ServiceInstanceIdResourceDetector(),
        OTELResourceDetector(),
    )
    for detector in detectors:
        try:
            resource = resource.merge(detector.detect())
        except Exception:
            logging.getLogger("tripod").warning(
                "tripod: resource detector %s failed", type(detector).__name__, exc_info=True
            )
    return resource.merge(Resource(attrs))


def _sampler(settings: Settings) -> Sampler:
    name = settings.traces_sampler
    root: Sampler
    if name.endswith("always_on"):
        root = ALWAYS_ON
    elif name.endswith("always_off"):
        root = ALWAYS_OFF
    else:
        root = TraceIdRatioBased(settings.traces_sampler_arg)
    return ParentBased(root) if name.startswith("parentbased_") else root


def _otlp_exporter(settings: Settings) -> SpanExporter | OtlpHttpSender:
    endpoint = cast(str, settings.otlp_endpoint)
    timeout = settings.otlp_timeout / 1000
    if settings.otlp_protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter as GrpcSpanExporter,
            )
        except ImportError:
            msg = (
                "otlp_protocol='grpc' needs the gRPC exporter, which is not installed: "
                "run `pip install 'tripod[grpc]'` or use otlp_protocol='http/protobuf'"
            )
            raise ConfigError(msg) from None
        exporter: SpanExporter = GrpcSpanExporter(
            endpoint=endpoint,
            insecure=endpoint.startswith("http://"),
            headers=settings.otlp_headers or None,
            timeout=timeout,
        )
        return exporter
    # http/protobuf: tripod's own encoder and sender (see tripod.sdk._otlp).
    return OtlpHttpSender(f"{endpoint}/v1/traces", dict(settings.otlp_headers), timeout)


class _DelegatingTracer(trace.Tracer):
    """A tracer that always starts spans on tripod's current provider (or none)."""

    def __init__(self, name: str, version: str | None, schema_url: str | None) -> None:
        self._args = (name, version, schema_url)
        self._for: TracerProvider | None = None
        self._real: trace.Tracer = trace.NoOpTracer()

    def _target(self) -> trace.Tracer:
        if self._for is not _provider:
            self._for = _provider
            self._real = _provider.get_tracer(*self._args) if _provider else trace.NoOpTracer()
        return self._real

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._target().start_span(*args, **kwargs)

    def start_as_current_span(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> AbstractContextManager[trace.Span]:
        return self._target().start_as_current_span(*args, **kwargs)


class _GlobalProvider(trace.TracerProvider):
    """Installed once as OpenTelemetry's global provider; follows re-initialisation."""

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> trace.Tracer:
        return _DelegatingTracer(
            instrumenting_module_name, instrumenting_library_version, schema_url
        )


def _install_global() -> None:
    current = trace.get_tracer_provider()
    if isinstance(current, trace.ProxyTracerProvider):
        trace.set_tracer_provider(_GlobalProvider())


def configure(settings: Settings, resource: Resource, on_drop: DropCounter) -> None:
    """Build the provider for ``settings``; raises ConfigError for an unusable exporter."""
    global _provider, _tracer, _settings, _on_drop, _server_spans
    shutdown(0.0)
    if not settings.traces_enabled:
        return
    exporter = _otlp_exporter(settings) if settings.otlp_endpoint else None
    # The provider's after-fork handler re-detects the resource on a ThreadPoolExecutor. That
    # module takes its global lock before every fork and re-creates it in the child, in the
    # order the handlers were registered: imported after the provider (by the app, a library),
    # the child would run the provider's handler first, with the lock still held, and hang
    # (a Celery prefork child never ran a task). Importing it first orders the handlers.
    import concurrent.futures.thread  # noqa: F401

    provider = TracerProvider(
        resource=resource,
        sampler=_sampler(settings),
        shutdown_on_exit=False,
        id_generator=_id_generator,
    )
    _settings, _on_drop, _provider = settings, on_drop, provider
    if exporter is not None:
        add_exporter(exporter)
    _tracer = provider.get_tracer("tripod")
    _server_spans = ServerSpanFactory(provider, _server_span_ended)
    _install_global()


def use_id_generator(ids: IdGenerator | None) -> None:
    """Providers built from now on take span and trace ids from ``ids`` (None: random ids,
    the default). For tests: :class:`tripod.testing.Capture` uses fixed ids."""
    global _id_generator
    _id_generator = ids


def _server_span_ended(span: ServerSpan) -> None:
    if span.context.trace_flags.sampled:
        for processor in _processors:
            processor.queue.put(span)


def server_spans() -> ServerSpanFactory | None:
    """The factory of per-request server spans, or None when tracing is off."""
    return _server_spans


def add_exporter(exporter: SpanExporter | OtlpHttpSender) -> None:
    """Also send spans to ``exporter`` through a bounded queue (tests, benchmarks, extra sinks)."""
    if _provider is None or _settings is None:
        return
    processor = BoundedSpanProcessor(
        exporter,
        _on_drop,
        max_size=_settings.export_queue_size,
        shutdown_timeout=_settings.shutdown_timeout,
    )
    _processors.append(processor)
    _provider.add_span_processor(processor)


def current_tracer() -> trace.Tracer | None:
    """tripod's tracer, or None when tracing is off (not initialised, disabled)."""
    return _tracer


def force_flush(timeout: float = 5.0) -> bool:
    """Ship queued spans now; True if everything left within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    return all(p.queue.force_flush(max(0.0, deadline - time.monotonic())) for p in _processors)


def shutdown(timeout: float) -> None:
    """Flush and stop the exporters within ``timeout`` seconds, then drop the provider."""
    global _provider, _tracer, _server_spans
    deadline = time.monotonic() + timeout
    for processor in _processors:
        processor.queue.shutdown(max(0.0, deadline - time.monotonic()))
    provider = _provider
    _provider, _tracer, _server_spans = None, None, None
    _processors.clear()
    if provider is not None:
        with contextlib.suppress(Exception):
            provider.shutdown()


class _NoopSpan:
    """Reusable no-op context manager for ``span()`` when tracing is off."""

    def __enter__(self) -> trace.Span:
        return trace.INVALID_SPAN

    def __exit__(self, *exc: object) -> None:
        return None


_NOOP = _NoopSpan()


def span(name: str, **attributes: Any) -> AbstractContextManager[trace.Span]:
    """``with tripod.span("charge card", amount=12):`` — a child span of the current one.

    Exceptions are recorded on the span (status ERROR) and propagate unchanged.
    """
    tracer = _tracer
    if tracer is None:
        return _NOOP
    return tracer.start_as_current_span(name, attributes=_clean(attributes))


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    if not attributes:
        return None
    ok = (str, bool, int, float)
    return {
        k: v
        if isinstance(v, ok) or (isinstance(v, Sequence) and not isinstance(v, bytes))
        else str(v)
        for k, v in attributes.items()
    }


@overload
def traced(func: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def traced(
    *, name: str | None = None, attributes: Mapping[str, Any] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def traced(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: run the function (sync or async) inside a span named after its qualname."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        span_name = name or getattr(fn, "__qualname__", None) or repr(fn)
        attrs = dict(attributes or {})
        attrs.setdefault("code.function.name", span_name)
        attrs.setdefault("code.namespace", getattr(fn, "__module__", "") or "")

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                with span(span_name, **attrs):
                    return await fn(*args, **kwargs)

            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with span(span_name, **attrs):
                return fn(*args, **kwargs)

        return wrapper

    if func is not None:
        return decorate(func)
    return decorate
