"""The optional Django app: ``"tripod.sdk.integrations.django"`` in ``INSTALLED_APPS``.

When Django is ready it calls ``tripod.init(**settings.TRIPOD)`` unless tripod is already
initialised (``settings.TRIPOD`` is an optional dict of the same keyword arguments; the
environment and ``[tool.tripod]`` apply as usual), then traces the database connections.
"""

from __future__ import annotations

import logging

from django.apps import AppConfig
from django.conf import settings

from tripod.sdk._active import current_settings
from tripod.sdk._setup import init
from tripod.sdk.integrations.django._db import instrument_db

__all__ = ["TripodConfig"]

_log = logging.getLogger("tripod")


class TripodConfig(AppConfig):  # type: ignore[misc]  # Django ships no type hints
    name = "tripod.sdk.integrations.django"
    label = "tripod"
    verbose_name = "tripod observability"

    def ready(self) -> None:
        if current_settings() is None:
            overrides = getattr(settings, "TRIPOD", None) or {}
            init(**overrides)  # a ConfigError stops start-up with the setting it names
        try:
            instrument_db()
        except Exception:
            _log.warning("tripod: could not instrument Django's database", exc_info=True)
