"""The fields every log record carries, decided once for both logging paths.

The stdlib handler (:mod:`tripod.sdk.logs`) and the structlog processors
(:mod:`tripod.sdk._structlog`) both take from here: ``service.name``, the current span's
``trace_id``/``span_id``, the ``correlation_id``, fields bound with ``tripod.bind()``, and the
redaction of secrets (by key name, and ``Bearer`` tokens inside strings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tripod.sdk.propagation import bound_fields, correlation_id, current_span_ids

__all__ = [
    "DEFAULT_REDACT_KEYS",
    "REDACTED",
    "add_context",
    "configure",
    "redact",
    "redact_item",
    "redact_str",
    "service_name",
]

DEFAULT_REDACT_KEYS = (
    "password", "passwd", "token", "secret", "authorization", "cookie", "api_key", "apikey",
)  # fmt: skip
REDACTED = "[REDACTED]"
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")

_service_name = "unknown_service"
_redact_keys: tuple[str, ...] = DEFAULT_REDACT_KEYS
_secret_keys: dict[str, bool] = {}


def configure(service: str, redact_keys: Sequence[str] = ()) -> None:
    """Set the ``service.name`` of every record and the extra key names to redact."""
    global _service_name, _redact_keys
    _service_name = service
    _redact_keys = DEFAULT_REDACT_KEYS + tuple(k.lower() for k in redact_keys)
    _secret_keys.clear()


def service_name() -> str:
    """The ``service.name`` written in every record."""
    return _service_name


def _is_secret(key: str) -> bool:
    """Whether a field name looks like a secret; memoised (field names repeat)."""
    found = _secret_keys.get(key)
    if found is None:
        low = key.lower().replace("-", "_")
        found = any(word in low for word in _redact_keys)
        if len(_secret_keys) < 10_000:
            _secret_keys[key] = found
    return found


def redact_str(value: str) -> str:
    """``value`` with ``Bearer`` tokens replaced."""
    return _BEARER.sub(r"\1 " + REDACTED, value) if "earer" in value else value


def redact(value: Any, _depth: int = 0) -> Any:
    """``value`` with secret-named keys and ``Bearer`` tokens replaced by ``[REDACTED]``."""
    if isinstance(value, str):
        return redact_str(value)
    if _depth > 5:
        return value
    if isinstance(value, Mapping):
        return {k: redact_item(k, v, _depth) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, _depth + 1) for v in value]
    return value


def redact_item(key: Any, value: Any, depth: int = 0) -> Any:
    """The value of field ``key``, redacted."""
    if isinstance(key, str) and _is_secret(key):
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(value, depth + 1)


def add_context(fields: dict[str, Any]) -> None:
    """Add ``service.name``, trace ids, correlation id and bound fields (redacted), in order."""
    fields["service.name"] = _service_name
    ids = current_span_ids()
    if ids is not None:
        fields["trace_id"], fields["span_id"] = ids
    corr = correlation_id()
    if corr is not None:
        fields["correlation_id"] = corr
    bound = bound_fields()
    if bound:
        for key, value in bound.items():
            fields[key] = redact_item(key, value, 0)
