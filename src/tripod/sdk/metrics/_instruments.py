"""Counter, gauge and histogram families: names and labels validated at creation, one cached
child per label-value tuple (the children are in ``_children``, the timer in ``_timer``)."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any, ClassVar

from tripod.sdk.metrics._children import (
    LABEL_NAME,
    NOOP,
    CounterChild,
    GaugeChild,
    HistogramChild,
    label_text,
    log_once,
    utf8,
)
from tripod.sdk.metrics._timer import Timer
from tripod.sdk.metrics._values import ValueFactory

__all__ = ["Counter", "Family", "Gauge", "Histogram", "family_name"]

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_UNIT = re.compile(r"[a-zA-Z0-9_]+")


def _check_metric_name(name: str) -> None:
    if not isinstance(name, str) or not _METRIC_NAME.fullmatch(name):
        msg = (
            f"invalid metric name {name!r}: expected letters, digits, '_' or ':', not starting "
            "with a digit (e.g. 'jobs_processed')"
        )
        raise ValueError(msg)


def _check_label_names(name: str, labels: Sequence[str], reserved: tuple[str, ...]) -> None:
    if isinstance(labels, str):
        msg = f"labels of {name!r} must be a sequence of names, got the string {labels!r}"
        raise TypeError(msg)
    seen: set[str] = set()
    for label in labels:
        if not isinstance(label, str) or not LABEL_NAME.fullmatch(label):
            msg = (
                f"invalid label name {label!r} for metric {name!r}: expected letters, digits "
                "or '_', not starting with a digit"
            )
            raise ValueError(msg)
        if label.startswith("__") or label in reserved:
            msg = f"label name {label!r} of metric {name!r} is reserved; rename it"
            raise ValueError(msg)
        if label in seen:
            msg = f"label name {label!r} appears twice in metric {name!r}"
            raise ValueError(msg)
        seen.add(label)


def family_name(name: str, kind: str, unit: str) -> str:
    """The family name as prometheus_client derives it: no ``_total``, unit suffix appended."""
    _check_metric_name(name)
    if kind == "counter" and name.endswith("_total"):
        name = name[: -len("_total")]
    if unit:
        if not isinstance(unit, str) or not _UNIT.fullmatch(unit):
            msg = f"invalid unit {unit!r} for metric {name!r}: expected e.g. 'seconds', 'bytes'"
            raise ValueError(msg)
        if not name.endswith("_" + unit):
            name = f"{name}_{unit}"
    return name


class Family:
    """A metric family: name, help, label names and one child per label-value tuple."""

    kind: ClassVar[str] = ""
    reserved_labels: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        name: str,
        help: str,
        labels: Sequence[str],
        unit: str,
        *,
        factory: ValueFactory,
    ) -> None:
        self.name = family_name(name, self.kind, unit)
        if not isinstance(help, str):
            msg = f"help of metric {name!r} must be a string, got {type(help).__name__}"
            raise TypeError(msg)
        self.help = utf8(help)
        self.unit = unit
        _check_label_names(self.name, labels, self.reserved_labels)
        self.labelnames = tuple(labels)
        self._factory = factory
        self._children: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()
        self._default: Any = None
        if not self.labelnames:
            self._default = self._children[()] = self._child(())

    # --- identity -------------------------------------------------------------------------
    def signature(self) -> tuple[object, ...]:
        """What must match for a second registration to return this family."""
        return (self.kind, self.labelnames, self.unit)

    def sample_names(self) -> tuple[str, ...]:
        return (self.name,)

    # --- children -------------------------------------------------------------------------
    def labels(self, *values: object, **kwargs: object) -> Any:
        """The child for these label values (positional or by name), created once and cached."""
        if not kwargs:
            try:
                child = self._children.get(values)  # type: ignore[arg-type]
            except TypeError:  # an unhashable label value; converted below
                child = None
            if child is not None:
                return child
        try:
            key = self._key(values, kwargs)
        except ValueError as exc:
            log_once(f"{self.name}:labels", f"tripod: {exc} (this warning is shown once)")
            return NOOP
        except Exception as exc:  # a label value whose str() raised
            log_once(
                f"{self.name}:labels:str",
                f"tripod: a label value of {self.name!r} cannot be converted to text "
                f"({type(exc).__name__}); dropped (this warning is shown once)",
            )
            return NOOP
        child = self._children.get(key)
        if child is None:
            with self._lock:
                child = self._children.get(key)
                if child is None:
                    child = self._child(key)
                    self._children[key] = child
        return child

    def _key(self, values: tuple[object, ...], kwargs: Mapping[str, object]) -> tuple[str, ...]:
        if kwargs:
            if values or set(kwargs) != set(self.labelnames):
                msg = (
                    f"metric {self.name!r} takes labels {list(self.labelnames)}, "
                    f"got {sorted(kwargs)}{' and positional values' if values else ''}"
                )
                raise ValueError(msg)
            values = tuple(kwargs[n] for n in self.labelnames)
        if len(values) != len(self.labelnames):
            msg = (
                f"metric {self.name!r} takes {len(self.labelnames)} label values "
                f"{list(self.labelnames)}, got {len(values)}"
            )
            raise ValueError(msg)
        return tuple(v if type(v) is str else str(v) for v in values)

    def children(self) -> list[Any]:
        """The children to expose now: a copy, so a scrape holds the family lock only briefly."""
        with self._lock:
            return list(self._children.values())

    def remove(self, *values: object) -> None:
        """Forget the child with these label values (it stops being exposed)."""
        key = tuple(v if type(v) is str else str(v) for v in values)
        if key:
            with self._lock:
                self._children.pop(key, None)

    def clear(self) -> None:
        """Forget every child (an unlabelled family starts again from zero)."""
        with self._lock:
            self._children.clear()
            if not self.labelnames:
                self._default = self._children[()] = self._child(())

    def _unlabelled(self, op: str) -> Any:
        if self._default is None:
            log_once(
                f"{self.name}:{op}:labels",
                f"tripod: {op}() on {self.name!r} needs .labels({', '.join(self.labelnames)}) "
                "first; dropped (this warning is shown once)",
            )
            return NOOP
        return self._default

    def _child(self, key: tuple[str, ...]) -> Any:
        raise NotImplementedError

    def _labels_text(self, key: tuple[str, ...]) -> str:
        return label_text(self.labelnames, key)


class Counter(Family):
    """A value that only goes up; exposed as ``<name>_total``."""

    kind = "counter"

    def sample_names(self) -> tuple[str, ...]:
        return (f"{self.name}_total", f"{self.name}_created", self.name)

    if TYPE_CHECKING:  # typed for users; at runtime Family.labels, one call less

        def labels(self, *values: object, **kwargs: object) -> CounterChild: ...

    def _child(self, key: tuple[str, ...]) -> CounterChild:
        labels = self._labels_text(key)
        prefix = f"{self.name}_total{{{labels}}} " if labels else f"{self.name}_total "
        return CounterChild(self.name, self._factory.scalar(self.name, key), prefix)

    def inc(self, amount: float = 1.0) -> None:
        self._unlabelled("inc").inc(amount)


class Gauge(Family):
    """A value that goes up and down."""

    kind = "gauge"
    #: With ``TRIPOD_MULTIPROC_DIR``: "livesum" adds up live workers, "liveall" labels by pid.
    multiprocess_mode = "livesum"

    if TYPE_CHECKING:  # typed for users; at runtime Family.labels, one call less

        def labels(self, *values: object, **kwargs: object) -> GaugeChild: ...

    def _child(self, key: tuple[str, ...]) -> GaugeChild:
        labels = self._labels_text(key)
        prefix = f"{self.name}{{{labels}}} " if labels else f"{self.name} "
        return GaugeChild(self.name, self._factory.scalar(self.name, key), prefix)

    def inc(self, amount: float = 1.0) -> None:
        self._unlabelled("inc").inc(amount)

    def dec(self, amount: float = 1.0) -> None:
        self._unlabelled("dec").dec(amount)

    def set(self, value: float) -> None:
        self._unlabelled("set").set(value)

    def set_to_current_time(self) -> None:
        self._unlabelled("set").set_to_current_time()


class Histogram(Family):
    """Observations counted into cumulative buckets, with ``_sum`` and ``_count``."""

    kind = "histogram"
    reserved_labels = ("le",)

    def __init__(
        self,
        name: str,
        help: str,
        labels: Sequence[str],
        unit: str,
        *,
        factory: ValueFactory,
        buckets: Sequence[float],
    ) -> None:
        self.bounds = _check_buckets(name, buckets)
        super().__init__(name, help, labels, unit, factory=factory)

    def signature(self) -> tuple[object, ...]:
        return (*super().signature(), tuple(self.bounds))

    def sample_names(self) -> tuple[str, ...]:
        n = self.name
        return (f"{n}_bucket", f"{n}_sum", f"{n}_count", f"{n}_created", n)

    if TYPE_CHECKING:  # typed for users; at runtime Family.labels, one call less

        def labels(self, *values: object, **kwargs: object) -> HistogramChild: ...

    def _child(self, key: tuple[str, ...]) -> HistogramChild:
        storage = self._factory.buckets(self.name, key, len(self.bounds) + 1)
        return HistogramChild(self.name, self.bounds, storage, self.name, self._labels_text(key))

    def observe(self, value: float, exemplar: Mapping[str, str] | None = None) -> None:
        self._unlabelled("observe").observe(value, exemplar)

    def observe_trace(self, value: float, trace_id: str, span_id: str) -> None:
        self._unlabelled("observe").observe_trace(value, trace_id, span_id)

    def time(self) -> Timer:
        """Time a block or function into this (unlabelled) histogram; see ``tripod.timed``."""
        return Timer(self._unlabelled("time"))


def _check_buckets(name: str, buckets: Sequence[float]) -> list[float]:
    try:
        bounds = [float(b) for b in buckets]
    except (TypeError, ValueError):
        msg = f"buckets of histogram {name!r} must be numbers, got {buckets!r}"
        raise ValueError(msg) from None
    if bounds and bounds[-1] == math.inf:
        bounds.pop()  # +Inf is always added
    if not bounds or any(math.isnan(b) or math.isinf(b) for b in bounds):
        msg = f"histogram {name!r} needs at least one finite bucket bound, got {list(buckets)!r}"
        raise ValueError(msg)
    if any(a >= b for a, b in pairwise(bounds)):
        msg = f"bucket bounds of histogram {name!r} must be strictly increasing, got {bounds!r}"
        raise ValueError(msg)
    return bounds
