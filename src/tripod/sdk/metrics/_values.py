"""Where metric values live: the storage behind every instrument child.

Instruments never touch numbers directly; they hold a :class:`Scalar` or a :class:`Buckets`
made by the active :class:`ValueFactory`. The in-process factory keeps plain floats and lists
under one lock per child (measured in benchmarks/exposition.py: uncontended cost is the lock
round trip, and scrapes never block all children at once). A multi-process mode (gunicorn
workers) can swap in a factory backed by shared files without changing instruments or
exposition.
"""

from __future__ import annotations

import threading
from typing import Protocol

__all__ = [
    "Buckets",
    "Exemplar",
    "LocalBuckets",
    "LocalScalar",
    "LocalValueFactory",
    "Scalar",
    "ValueFactory",
]

#: An exemplar as stored: (label set already rendered as ``k="v",...``, observed value, unix
#: timestamp in seconds). Rendering the labels at observe time keeps scrapes simple.
Exemplar = tuple[str, float, float]


class Scalar(Protocol):
    """One number: a counter's or a gauge's value."""

    def add(self, amount: float) -> None: ...
    def set(self, value: float) -> None: ...
    def get(self) -> float: ...


class Buckets(Protocol):
    """A histogram child's state: per-bucket counts (not cumulative), sum, latest exemplars."""

    def observe(self, index: int, value: float) -> None: ...
    def observe_exemplar(self, index: int, value: float, exemplar: Exemplar) -> None: ...
    def snapshot(self) -> tuple[list[int], float, list[Exemplar | None] | None]: ...


class ValueFactory(Protocol):
    """Makes the storage for one child of ``family`` with these label values."""

    def scalar(self, family: str, label_values: tuple[str, ...]) -> Scalar: ...
    def buckets(self, family: str, label_values: tuple[str, ...], size: int) -> Buckets: ...


class LocalScalar:
    """A float in this process, guarded by its own lock."""

    __slots__ = ("_lock", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0.0

    def add(self, amount: float) -> None:
        with self._lock:
            self._value += amount

    def set(self, value: float) -> None:
        self._value = value  # a single store is atomic; no lock needed

    def get(self) -> float:
        return self._value


class LocalBuckets:
    """Bucket counts, sum and (lazily) one exemplar per bucket, in this process."""

    __slots__ = ("_counts", "_exemplars", "_lock", "_sum")

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._counts = [0] * size
        self._sum = 0.0
        self._exemplars: list[Exemplar | None] | None = None

    def observe(self, index: int, value: float) -> None:
        with self._lock:
            self._counts[index] += 1
            self._sum += value

    def observe_exemplar(self, index: int, value: float, exemplar: Exemplar) -> None:
        with self._lock:
            self._counts[index] += 1
            self._sum += value
            if self._exemplars is None:
                self._exemplars = [None] * len(self._counts)
            self._exemplars[index] = exemplar

    def snapshot(self) -> tuple[list[int], float, list[Exemplar | None] | None]:
        with self._lock:
            exemplars = None if self._exemplars is None else self._exemplars[:]
            return self._counts[:], self._sum, exemplars


class LocalValueFactory:
    """The default: values in this process's memory."""

    def scalar(self, family: str, label_values: tuple[str, ...]) -> Scalar:
        return LocalScalar()

    def buckets(self, family: str, label_values: tuple[str, ...], size: int) -> Buckets:
        return LocalBuckets(size)
