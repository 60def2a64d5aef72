"""Exemplars: whether observations carry the ids of the current sampled span.

One switch for the whole process, set by ``configure()`` (``exemplars`` setting); the timer
and the HTTP server metrics read it, the instruments never do.
"""

from __future__ import annotations

from tripod.sdk.propagation import sampled_span_ids

__all__ = ["current", "enabled", "set_enabled"]

_enabled = True


def enabled() -> bool:
    """Whether exemplars are recorded."""
    return _enabled


def set_enabled(on: bool) -> None:
    global _enabled
    _enabled = bool(on)


def current() -> tuple[str, str] | None:
    """(trace id, span id) for an exemplar now: the current span's if it is sampled and
    exemplars are on, else None. Never raises."""
    if not _enabled:
        return None
    try:
        return sampled_span_ids()
    except Exception:
        return None
