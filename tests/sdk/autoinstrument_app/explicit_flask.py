"""The same Flask app with explicit ``tripod.init()`` + ``tripod.instrument(app)``."""

from __future__ import annotations

import tripod
from tests.sdk.autoinstrument_app.plain_flask import app

tripod.init()
tripod.instrument(app)
