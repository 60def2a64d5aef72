"""The same Celery app with explicit ``tripod.init()`` (the documented way)."""

from __future__ import annotations

import tripod
from tests.sdk.autoinstrument_app.plain_celery import app, double

tripod.init()

__all__ = ["app", "double"]
