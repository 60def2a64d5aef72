"""The timer behind ``Histogram.time()`` and ``tripod.timed()``: below the instruments.

Like prometheus_client's ``Timer`` (``context_managers.py``), it knows only something it can
``observe``, so an instrument can hand itself to a timer without importing the face above it.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, cast

from tripod.sdk.metrics._exemplars import current as current_exemplar

__all__ = ["Observer", "Timer"]

FuncT = TypeVar("FuncT", bound=Callable[..., Any])


class Observer(Protocol):
    """What a timer records into: a histogram or one of its children."""

    def observe(self, value: float, exemplar: Mapping[str, str] | None = None) -> None: ...
    def observe_trace(self, value: float, trace_id: str, span_id: str) -> None: ...


class Timer:
    """Times a ``with`` block (sync or async) or each call of a decorated function, in
    seconds, into ``target``; exceptions are timed too. With exemplars on, an observation made
    inside a sampled span carries its trace id."""

    def __init__(self, target: Observer) -> None:
        self._target = target
        self._starts: list[float] = []

    def _record(self, elapsed: float) -> None:
        ids = current_exemplar()
        if ids is None:
            self._target.observe(elapsed)
        else:
            self._target.observe_trace(elapsed, *ids)

    def __enter__(self) -> Timer:
        self._starts.append(time.perf_counter())
        return self

    def __exit__(self, *exc: object) -> None:
        self._record(time.perf_counter() - self._starts.pop())

    async def __aenter__(self) -> Timer:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    def __call__(self, func: FuncT) -> FuncT:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await func(*args, **kwargs)
                finally:
                    self._record(time.perf_counter() - start)

            return cast(FuncT, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self._record(time.perf_counter() - start)

        return cast(FuncT, wrapper)
