"""The settings of the active ``tripod.init()``: one holder below everything that reads it.

``_setup`` sets it; integrations read it per call (a request, a query) without importing
``_setup``, which imports them.
"""

from __future__ import annotations

from tripod.config import Settings

__all__ = ["current_settings", "set_current"]

_settings: Settings | None = None


def current_settings() -> Settings | None:
    """The settings of the active ``init()``, or None before it / after ``shutdown()``."""
    return _settings


def set_current(settings: Settings | None) -> None:
    global _settings
    _settings = settings
