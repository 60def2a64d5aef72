"""The protobuf wire format, as much of it as OTLP needs: varints, fixed64, strings, messages.

A message is built as a list of byte strings joined once; a nested message is its body prefixed
with its tag and length. Field numbers are those of opentelemetry-proto (``common.proto``,
``trace.proto``, ``logs.proto``); ``tests/sdk/test_otlp_encode.py`` decodes our bytes with the
official generated classes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["any_value", "attributes", "field_bytes", "fixed64", "key_value", "message", "varint"]

_pack_d = struct.Struct("<d").pack
_pack_q = struct.Struct("<Q").pack
_SMALL = [bytes((i,)) for i in range(128)]


def varint(value: int) -> bytes:
    """``value`` as a protobuf varint (negative numbers as 64-bit two's complement)."""
    if 0 <= value < 128:
        return _SMALL[value]
    if 128 <= value < 16384:  # lengths of most messages
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 127:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def fixed64(tag: bytes, value: int) -> bytes:
    """A fixed64 field (timestamps): its one-byte ``tag`` then 8 little-endian bytes."""
    return tag + _pack_q(value & 0xFFFFFFFFFFFFFFFF)


def field_bytes(field: int, data: bytes) -> bytes:
    """A length-delimited field (string, bytes or message body)."""
    return varint(field << 3 | 2) + varint(len(data)) + data


def message(field: int, parts: Sequence[bytes]) -> bytes:
    """A nested message made of already encoded ``parts``."""
    body = b"".join(parts)
    return varint(field << 3 | 2) + varint(len(body)) + body


# AnyValue (common.proto): 1 string, 2 bool, 3 int, 4 double, 5 array, 6 kvlist, 7 bytes.
def any_value(value: Any) -> bytes:
    """The body of an ``AnyValue`` holding ``value`` (other types are sent as their ``str``)."""
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        return b"\x0a" + varint(len(data)) + data
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, int):
        return b"\x18" + varint(value if -(1 << 63) <= value < 1 << 63 else 0)
    if isinstance(value, float):
        return b"\x21" + _pack_d(value)
    if isinstance(value, bytes):
        return b"\x3a" + varint(len(value)) + value
    if value is None:
        return b""
    if isinstance(value, Mapping):
        body = b"".join(key_value(str(k), v) for k, v in value.items())
        return b"\x32" + varint(len(body)) + body
    if isinstance(value, Sequence):
        body = b"".join(_array_item(v) for v in value)
        return b"\x2a" + varint(len(body)) + body
    return any_value(str(value))


def _array_item(value: Any) -> bytes:  # one AnyValue in ArrayValue.values (field 1)
    inner = any_value(value)
    return b"\x0a" + varint(len(inner)) + inner


_KEYS: dict[str, bytes] = {}
#: field number -> {(key, str value): the whole encoded field}
_PAIRS: dict[int, dict[tuple[str, str], bytes]] = {}
_CACHE_MAX = 4096
#: Attribute keys whose values differ from record to record: encoded, never memoised.
_UNIQUE_KEYS = frozenset(("correlation_id", "url.path", "url.query", "url.full"))


def _key_value_body(key: str, value: Any) -> bytes:
    prefix = _KEYS.get(key)
    if prefix is None:
        data = key.encode("utf-8", "surrogatepass")
        prefix = b"\x0a" + varint(len(data)) + data
        if len(_KEYS) >= _CACHE_MAX:
            _KEYS.clear()
        _KEYS[key] = prefix
    inner = any_value(value)
    return prefix + b"\x12" + varint(len(inner)) + inner


def key_value(key: str, value: Any, field: int = 1) -> bytes:
    """One ``KeyValue`` message as the repeated field ``field`` (``attributes``, ``values``).

    Keys and string or integer pairs repeat from record to record (method, route, logger,
    scheme, port, status code), so their encodings are memoised; values that are unique per
    record by nature (``_UNIQUE_KEYS``: correlation id, path) are not, and the cache starts
    afresh when full, so other unique values cannot crowd out the repeating ones for long."""
    cache = _PAIRS.get(field)
    if cache is None:
        cache = _PAIRS[field] = {}
    kind = type(value)
    if (kind is str or kind is int) and key not in _UNIQUE_KEYS:
        done = cache.get((key, value))
        if done is not None:
            return done
        body = _key_value_body(key, value)
        out = varint(field << 3 | 2) + varint(len(body)) + body
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key, value] = out
        return out
    body = _key_value_body(key, value)
    return varint(field << 3 | 2) + varint(len(body)) + body


def attributes(field: int, attrs: Mapping[str, Any] | None) -> bytes:
    """``attrs`` as the repeated ``KeyValue`` field number ``field``."""
    if not attrs:
        return b""
    cache = _PAIRS.get(field)
    if cache is None:
        cache = _PAIRS[field] = {}
    get = cache.get
    out = []
    for key, value in attrs.items():
        kind = type(value)
        # (key, 1) never finds a (key, True) entry: only str and int values are ever cached.
        done = get((key, value)) if kind is str or kind is int else None
        out.append(done if done is not None else key_value(key, value, field))
    return b"".join(out)
