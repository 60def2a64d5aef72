"""Instrument children: one series each, pre-rendered, cheap, and never raising when used.

Each child (one label tuple) renders the text of its sample names and labels once, when it is
created, so a scrape only formats numbers and joins strings (see ``_exposition``). Bad values
passed to ``inc``/``set``/``observe`` are logged once and dropped: an SDK must not raise into the
request path of the application it observes.
"""

from __future__ import annotations

import logging
import math
import re
import time
from bisect import bisect_left
from collections.abc import Mapping
from typing import Any

from tripod.catalog import le_label
from tripod.sdk.metrics._values import Buckets, Exemplar, Scalar

__all__ = [
    "LABEL_NAME",
    "NOOP",
    "CounterChild",
    "GaugeChild",
    "HistogramChild",
    "escape_label_value",
    "label_text",
    "log_once",
    "reset_log_once",
    "safe_repr",
    "utf8",
]

_log = logging.getLogger("tripod.metrics")
_go_float = le_label  # spells `le` exactly as prometheus_client

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_EXEMPLAR_MAX_RUNES = 128  # OpenMetrics: label names + values of one exemplar, in characters

_logged: set[str] = set()
_LOGGED_MAX = 1000


def log_once(key: str, message: str) -> None:
    """Warn about a misuse once per ``key`` (bounded), so a hot loop cannot flood the logs."""
    if key in _logged or len(_logged) >= _LOGGED_MAX:
        return
    _logged.add(key)
    _log.warning("%s", message)


def reset_log_once() -> None:
    _logged.clear()


def escape_label_value(value: str) -> str:
    r"""Escape ``\``, ``"`` and newline, as both text formats require inside label values."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def safe_repr(value: object) -> str:
    """``repr`` for a log line, short, and never raising (user objects can raise in repr)."""
    try:
        text = repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _bad_value(family: str, what: str, value: object) -> None:
    log_once(
        f"{family}:{what}",
        f"tripod: dropped {what}({safe_repr(value)}) on metric {family!r}: expected a "
        + ("non-negative number" if what == "inc" else "number")
        + "; fix the caller (this warning is shown once)",
    )


def utf8(text: str) -> str:
    """``text`` if it encodes as UTF-8; else lone surrogates (e.g. from undecodable paths) are
    replaced here, once, rather than failing every scrape."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:  # bytes smuggled in by surrogateescape: decode them for real
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "replace").decode("utf-8")
    return text


def label_text(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    return ",".join(
        f'{n}="{escape_label_value(utf8(v))}"' for n, v in zip(names, values, strict=True)
    )


class CounterChild:
    """One counter series. ``inc`` with a negative, NaN or non-number amount is dropped."""

    __slots__ = ("_family", "_value", "prefix")

    def __init__(self, family: str, value: Scalar, prefix: str) -> None:
        self._family = family
        self._value = value
        self.prefix = prefix

    def inc(self, amount: float = 1.0) -> None:
        try:
            if amount >= 0:  # False for negatives and NaN
                self._value.add(amount)
                return
        except Exception:
            _bad_value(self._family, "inc", amount)
            return
        _bad_value(self._family, "inc", amount)

    def get(self) -> float:
        return self._value.get()


class GaugeChild:
    """One gauge series."""

    __slots__ = ("_family", "_value", "prefix")

    def __init__(self, family: str, value: Scalar, prefix: str) -> None:
        self._family = family
        self._value = value
        self.prefix = prefix

    def inc(self, amount: float = 1.0) -> None:
        try:
            self._value.add(float(amount))
        except Exception:
            _bad_value(self._family, "inc", amount)

    def dec(self, amount: float = 1.0) -> None:
        try:
            self._value.add(-float(amount))
        except Exception:
            _bad_value(self._family, "dec", amount)

    def set(self, value: float) -> None:
        try:
            self._value.set(float(value))
        except Exception:
            _bad_value(self._family, "set", value)

    def set_to_current_time(self) -> None:
        self._value.set(time.time())

    def get(self) -> float:
        return self._value.get()


class HistogramChild:
    """One histogram series set: ``_bucket{le=...}`` lines, ``_sum`` and ``_count``."""

    __slots__ = ("_bounds", "_buckets", "_family", "bucket_prefixes", "count_prefix", "sum_prefix")

    def __init__(
        self, family: str, bounds: list[float], buckets: Buckets, name: str, labels: str
    ) -> None:
        self._family = family
        self._bounds = bounds
        self._buckets = buckets
        sep = "," if labels else ""
        les = [_go_float(b) for b in bounds] + ["+Inf"]
        self.bucket_prefixes = [f'{name}_bucket{{{labels}{sep}le="{le}"}} ' for le in les]
        braces = f"{{{labels}}}" if labels else ""
        self.sum_prefix = f"{name}_sum{braces} "
        self.count_prefix = f"{name}_count{braces} "

    def observe(self, value: float, exemplar: Mapping[str, str] | None = None) -> None:
        """Record ``value``; ``exemplar`` labels (e.g. ``{"trace_id": ...}``) go on its bucket."""
        try:
            v = float(value)
            if math.isnan(v):  # NaN would poison _sum forever
                _bad_value(self._family, "observe", value)
                return
            index = bisect_left(self._bounds, v)
            ex = None if exemplar is None else self._exemplar(exemplar, v)
            if ex is None:
                self._buckets.observe(index, v)
            else:
                self._buckets.observe_exemplar(index, v, ex)
        except Exception:
            _bad_value(self._family, "observe", value)

    def observe_trace(self, value: float, trace_id: str, span_id: str) -> None:
        """Record ``value`` with a trace exemplar (the sampled request's ids)."""
        try:
            v = float(value)
            if math.isnan(v):
                _bad_value(self._family, "observe", value)
                return
            index = bisect_left(self._bounds, v)
            if len(trace_id) + len(span_id) > _EXEMPLAR_MAX_RUNES - 15:  # would break scrapes
                self._buckets.observe(index, v)
                return
            labels = (
                f'trace_id="{escape_label_value(trace_id)}",span_id="{escape_label_value(span_id)}"'
            )
            self._buckets.observe_exemplar(index, v, (labels, v, time.time()))
        except Exception:
            _bad_value(self._family, "observe", value)

    def _exemplar(self, labels: Mapping[str, str], value: float) -> Exemplar | None:
        """The exemplar to store, or None (logged once) if OpenMetrics would reject it."""
        items = [(str(k), str(v)) for k, v in labels.items()]
        runes = sum(len(k) + len(v) for k, v in items)
        if runes > _EXEMPLAR_MAX_RUNES or not all(LABEL_NAME.fullmatch(k) for k, _ in items):
            log_once(
                f"{self._family}:exemplar",
                f"tripod: dropped exemplar {dict(items)!r} on {self._family!r} (the observation "
                f"was kept): exemplars need valid label names and at most {_EXEMPLAR_MAX_RUNES} "
                "characters of names and values",
            )
            return None
        text = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in items)
        return (text, value, time.time())

    def snapshot(self) -> tuple[list[int], float, list[Exemplar | None] | None]:
        return self._buckets.snapshot()


class _NoopChild:
    """Returned by ``labels()`` called wrongly: accepts every call, records nothing."""

    def inc(self, amount: float = 1.0) -> None:
        pass

    def dec(self, amount: float = 1.0) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def set_to_current_time(self) -> None:
        pass

    def observe(self, value: float, exemplar: Mapping[str, str] | None = None) -> None:
        pass

    def observe_trace(self, value: float, trace_id: str, span_id: str) -> None:
        pass


NOOP: Any = _NoopChild()
