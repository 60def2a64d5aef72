"""tripod's pytest plugin (registered as a ``pytest11`` entry point): the ``tripod_capture``
fixture, a :class:`tripod.testing.Capture` started for one test and stopped after it.

pytest loads this module (and with it the ``tripod`` package) when a session starts;
``tripod.testing`` is imported when a test first asks for the fixture. pytest is imported here
only, never by ``import tripod`` or ``import tripod.testing``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tripod.testing import Capture

__all__ = ["tripod_capture"]


@pytest.fixture
def tripod_capture() -> Iterator[Capture]:
    """tripod initialised (default settings) with spans, samples and log records captured;
    call ``tripod_capture.init(...)`` for other settings. Shut down after the test."""
    from tripod.testing import Capture

    with Capture() as capture:
        yield capture
