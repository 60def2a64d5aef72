"""The one error ``tripod generate`` reports: a single line naming the key, the value and what
was expected, so the command exits 2 without a traceback."""

from __future__ import annotations

from typing import Any


class GenerateError(ValueError):
    """The service description cannot be turned into configuration."""


def bad(key: str, value: Any, expected: str) -> GenerateError:
    """``key = value: expected ...`` as one line."""
    return GenerateError(f"{key} = {value!r}: expected {expected}")
