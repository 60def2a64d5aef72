"""Domain helpers: the metrics teams hand-write, as small typed calls over the catalog.

- :func:`counted` — calls of a function (sync or async) by outcome.
- :func:`set_circuit_state` — a circuit breaker's state gauge and its transitions.
- :func:`record_retry` — retry attempts of an operation.
- :func:`record_cache` — cache hits and misses.
- :func:`set_dependency_up` — whether a dependency ("connector") is reachable.
- :func:`track_job` — a background job's outcome and duration (decorator or ``with``).

Label discipline: every label value is a name the code chooses (a breaker, a cache, a job),
never request data. Each helper keeps at most 100 distinct values per label and 128 characters
per value; past that the value is recorded as ``__other__`` and a warning is logged once, so a
value built from user input cannot grow /metrics without bound. Like the rest of the SDK, these
calls never raise into the app at run time; a decorator given a bad argument raises at once.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, TypeVar, cast, overload

from tripod import catalog
from tripod.catalog import MetricSpec
from tripod.sdk import metrics

__all__ = [
    "OTHER",
    "counted",
    "record_cache",
    "record_retry",
    "set_circuit_state",
    "set_dependency_up",
    "track_job",
]

_log = logging.getLogger("tripod")
FuncT = TypeVar("FuncT", bound=Callable[..., Any])
CircuitState = Literal["closed", "open", "half_open"]

#: The label value that stands for every value past a helper's limit.
OTHER = "__other__"
_MAX_VALUES = 100
_MAX_LENGTH = 128
_STATES: dict[str, int] = {"closed": 0, "open": 1, "half_open": 2}


class _Bounded:
    """The distinct values one helper label has seen in ``family``; maps overflow to
    ``__other__``. A new family (metrics were reset) starts a new count."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._seen: set[str] = set()
        self._family: object = None
        self._lock = threading.Lock()
        self._warned = False

    def __call__(self, family: object, value: object) -> str:
        text = str(value)
        if text in self._seen and family is self._family:
            return text
        with self._lock:
            if family is not self._family:
                self._family = family
                self._seen = set()
            if len(text) <= _MAX_LENGTH and text and len(self._seen) < _MAX_VALUES:
                self._seen.add(text)
                return text
            if not self._warned:
                self._warned = True
                _log.warning(
                    "tripod: %s %r recorded as %r: at most %d distinct values of up to %d "
                    "characters (use names your code chooses, not request data)",
                    self._what, text[:80], OTHER, _MAX_VALUES, _MAX_LENGTH,
                )  # fmt: skip
            return OTHER


def _family(spec: MetricSpec) -> Any:
    """The catalog family (created on first use; the same object until metrics are reset)."""
    if spec.type == "counter":
        return metrics.counter(spec.name, spec.help, spec.labels, spec.unit)
    if spec.type == "gauge":
        return metrics.gauge(spec.name, spec.help, spec.labels, spec.unit)
    return metrics.histogram(spec.name, spec.help, spec.labels, spec.unit, spec.buckets)


def _labels(spec: MetricSpec, bounded: tuple[_Bounded, str], *fixed: str) -> Any:
    """The child of ``spec``'s family for the bounded first label value and ``fixed`` others."""
    family = _family(spec)
    guard, value = bounded
    return family.labels(guard(family, value), *fixed)


def _safely(what: str, record: Callable[[], None]) -> None:
    try:
        record()
    except Exception:
        _log.debug("tripod: could not record %s", what, exc_info=True)


# --- counted ---------------------------------------------------------------------------------
_functions = _Bounded("counted() function name")


@overload
def counted(func: FuncT, /) -> FuncT: ...
@overload
def counted(*, name: str | None = None) -> Callable[[FuncT], FuncT]: ...


def counted(
    func: FuncT | None = None, /, *, name: str | None = None
) -> FuncT | Callable[[FuncT], FuncT]:
    """Count each call of the decorated function (sync or async) in
    ``tripod_function_calls_total{function, outcome}``; ``outcome`` is ``success`` or ``error``
    (it raised; the exception propagates unchanged). ``function`` is ``name`` or the qualname.

    ``@tripod.counted`` or ``@tripod.counted(name="charge_card")``; stack with ``@tripod.timed``.
    """
    if name is not None and (not isinstance(name, str) or not 0 < len(name) <= _MAX_LENGTH):
        msg = f"counted(name=...) must be a string of 1-{_MAX_LENGTH} characters, got {name!r}"
        raise ValueError(msg)

    def decorate(fn: FuncT) -> FuncT:
        label = name or getattr(fn, "__qualname__", None) or repr(fn)

        def record(outcome: str) -> None:
            _safely(
                "a counted() call",
                lambda: _labels(catalog.FUNCTION_CALLS, (_functions, label), outcome).inc(),
            )

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    result = await fn(*args, **kwargs)
                except BaseException:
                    record("error")
                    raise
                record("success")
                return result

            return cast(FuncT, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                result = fn(*args, **kwargs)
            except BaseException:
                record("error")
                raise
            record("success")
            return result

        return cast(FuncT, wrapper)

    return decorate(func) if func is not None else decorate


# --- circuit breaker -------------------------------------------------------------------------
_breakers = _Bounded("circuit breaker")
_breaker_lock = threading.Lock()
_last_state: dict[str, str] = {}
_last_family: list[Any] = [None]


def set_circuit_state(breaker: str, state: CircuitState) -> None:
    """Report circuit ``breaker``'s state: ``tripod_circuit_breaker_state{breaker}`` becomes
    0 (closed), 1 (open) or 2 (half_open); a change from the last reported state also counts
    ``tripod_circuit_breaker_transitions_total{breaker, from_state, to_state}``.

    Call it from your breaker's state-change hook (pybreaker listeners, tenacity callbacks...).
    An unknown state is ignored (and logged once).
    """

    def record() -> None:
        value = _STATES.get(state)
        if value is None:
            msg = f"circuit state must be one of {sorted(_STATES)}, got {state!r}"
            raise ValueError(msg)
        gauge = _family(catalog.CIRCUIT_BREAKER_STATE)
        label = _breakers(gauge, breaker)
        with _breaker_lock:
            if _last_family[0] is not gauge:  # metrics were reset: forget old states
                _last_family[0] = gauge
                _last_state.clear()
            previous = _last_state.get(label)
            _last_state[label] = state
            gauge.labels(label).set(value)
        if previous is not None and previous != state:
            _family(catalog.CIRCUIT_BREAKER_TRANSITIONS).labels(label, previous, state).inc()

    _safely("a circuit breaker state", record)


# --- retries, caches, dependencies -----------------------------------------------------------
_operations = _Bounded("retried operation")
_caches = _Bounded("cache")
_dependencies = _Bounded("dependency")


def record_retry(operation: str, attempts: int = 1) -> None:
    """Count ``attempts`` retries of ``operation`` in ``tripod_retry_attempts_total{operation}``
    (a retry is an attempt after the first)."""
    _safely(
        "a retry",
        lambda: _labels(catalog.RETRY_ATTEMPTS, (_operations, operation)).inc(attempts),
    )


def record_cache(cache: str, *, hit: bool) -> None:
    """Count one lookup in ``tripod_cache_requests_total{cache, result}`` (``hit``/``miss``);
    the hit ratio is ``rate(..{result="hit"}[5m]) / sum without(result)(rate(..[5m]))``."""
    _safely(
        "a cache lookup",
        lambda: _labels(catalog.CACHE_REQUESTS, (_caches, cache), "hit" if hit else "miss").inc(),
    )


def set_dependency_up(dependency: str, up: bool) -> None:
    """Report whether ``dependency`` (a database, an API, a queue) is reachable:
    ``tripod_dependency_up{dependency}`` 1 or 0."""
    _safely(
        "a dependency state",
        lambda: _labels(catalog.DEPENDENCY_UP, (_dependencies, dependency)).set(1 if up else 0),
    )


# --- background jobs -------------------------------------------------------------------------
_jobs = _Bounded("job")
_job_durations = _Bounded("job")


class track_job:  # noqa: N801 (used like a function: `with tripod.track_job("x")`)
    """Time a background job and count its outcome, as a decorator (sync or async) or a
    ``with``/``async with`` block: ``tripod_job_runs_total{job, outcome}`` (``success`` or
    ``error``) and ``tripod_job_duration_seconds{job}``. Exceptions propagate unchanged."""

    def __init__(self, job: str) -> None:
        if not isinstance(job, str) or not 0 < len(job) <= _MAX_LENGTH:
            msg = f"track_job() needs a job name of 1-{_MAX_LENGTH} characters, got {job!r}"
            raise ValueError(msg)
        self._job = job
        self._starts: list[float] = []

    def _record(self, started: float, failed: bool) -> None:
        duration = time.perf_counter() - started

        def record() -> None:
            _labels(catalog.JOB_DURATION, (_job_durations, self._job)).observe(duration)
            outcome = "error" if failed else "success"
            _labels(catalog.JOB_RUNS, (_jobs, self._job), outcome).inc()

        _safely("a job run", record)

    def __enter__(self) -> track_job:
        self._starts.append(time.perf_counter())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._record(self._starts.pop(), exc_type is not None)

    async def __aenter__(self) -> track_job:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, fn: FuncT) -> FuncT:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    result = await fn(*args, **kwargs)
                except BaseException:
                    self._record(started, True)
                    raise
                self._record(started, False)
                return result

            return cast(FuncT, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            except BaseException:
                self._record(started, True)
                raise
            self._record(started, False)
            return result

        return cast(FuncT, wrapper)
