"""The HTTP edge every route shares: one request-body reader, one error reply per API family, and
the parsers of the Prometheus API's time and duration parameters.

* :func:`read_body` refuses a body over the size limit as soon as it is known (declared length or
  bytes streamed), turns a client that hangs up into a 400 instead of a stack trace, and decodes
  ``Content-Encoding`` (gzip, deflate, snappy block) without ever inflating past a limit.
* :func:`parse_json` refuses JSON nested deeper than :data:`MAX_JSON_DEPTH` before parsing it,
  so a hostile body cannot exhaust the parser's (or protobuf's) recursion.
* Error replies: :func:`otlp_error` (``google.rpc.Status``, protobuf or JSON, as OTLP/HTTP asks),
  :func:`prometheus_error` (``{"status":"error","errorType":..,"error":..}``, as the Prometheus
  HTTP API answers) and :func:`plain_error` (text, as Prometheus's remote-write receiver answers).
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import cramjam
import numpy as np
from google.protobuf import json_format
from google.rpc import status_pb2  # type: ignore[import-untyped]
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from tripod.server.config import ConfigError, parse_duration

__all__ = [
    "GZIP_DEFLATE",
    "MAX_JSON_DEPTH",
    "MAX_TIME_MS",
    "MIN_TIME_MS",
    "SNAPPY",
    "HttpError",
    "decode_content",
    "json_depth",
    "otlp_error",
    "parse_duration_ms",
    "parse_json",
    "parse_time_ms",
    "plain_error",
    "prometheus_error",
    "prometheus_json",
    "read_body",
]

#: Content-Encodings :func:`read_body` can decode, by route family.
GZIP_DEFLATE = frozenset({"identity", "gzip", "x-gzip", "deflate"})
SNAPPY = frozenset({"snappy"})
MAX_JSON_DEPTH = 64
_INLINE_DECODE_BYTES = 256 * 1024  # larger compressed bodies are inflated in a worker thread

# Prometheus's minTime / maxTime (the API's defaults for open-ended ranges).
MIN_TIME_MS = (-9_223_372_036_854_775 + 62_135_596_801) * 1000
MAX_TIME_MS = (9_223_372_036_854_775 - 62_135_596_801) * 1000 + 999
_MIN_TIME_TEXT = "-292273086-05-16T16:47:06Z"
_MAX_TIME_TEXT = "292277025-08-18T07:12:54.999999999Z"
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_JSON_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_BRACKET_STEP = np.zeros(256, dtype=np.int8)
_BRACKET_STEP[[ord("{"), ord("[")]] = 1
_BRACKET_STEP[[ord("}"), ord("]")]] = -1
_GRPC_CODES = {400: 3, 401: 16, 404: 5, 413: 8, 415: 3, 429: 8, 503: 14}


class HttpError(Exception):
    """A request refused whole: HTTP ``status``, Prometheus ``error_type`` and the message.

    ``reason`` is the snake_case reason counted in ``tripod_server_rejected_total``.
    """

    def __init__(self, status: int, message: str, error_type: str = "bad_data") -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type

    @property
    def reason(self) -> str:
        return {413: "body_too_large", 415: "unsupported_media_type"}.get(self.status, "malformed")


async def read_body(
    request: Request,
    limit: int,
    *,
    encodings: Collection[str] = GZIP_DEFLATE,
    default_encoding: str = "identity",
    max_decoded: int | None = None,
) -> bytes:
    """The request body, at most ``limit`` bytes as sent, decoded per ``Content-Encoding``
    (``default_encoding`` when the header is absent) to at most ``max_decoded`` bytes
    (default ``limit``). Raises :class:`HttpError` 413 / 415 / 400."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        msg = (
            f"body of {declared} bytes exceeds limits.max_body_bytes ({limit}); "
            "send smaller batches"
        )
        raise HttpError(413, msg)
    encoding = request.headers.get("content-encoding", "").strip().lower() or default_encoding
    if encoding not in encodings:
        accepted = ", ".join(sorted(encodings))
        msg = f"Content-Encoding {encoding!r} is not supported here; use {accepted}"
        raise HttpError(415, msg)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                msg = f"body exceeds limits.max_body_bytes ({limit}); send smaller batches"
                raise HttpError(413, msg)
            chunks.append(chunk)
    except ClientDisconnect:
        raise HttpError(400, "client disconnected before sending the whole body") from None
    body = b"".join(chunks)
    most = limit if max_decoded is None else max_decoded
    if encoding != "identity" and len(body) >= _INLINE_DECODE_BYTES:
        return await run_in_threadpool(decode_content, body, encoding, most)  # off the loop
    return decode_content(body, encoding, most)


def decode_content(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` decoded per a Content-Encoding, refusing (413) to inflate past ``limit`` bytes."""
    if encoding in ("", "identity"):
        return body
    if encoding == "snappy":
        return _snappy(body, limit)
    if encoding not in GZIP_DEFLATE:
        msg = f"Content-Encoding {encoding!r} is not supported; use gzip, deflate or none"
        raise HttpError(415, msg)
    wbits = zlib.MAX_WBITS if encoding == "deflate" else 16 + zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise HttpError(400, f"body is not valid {encoding}: {exc}") from None
    if len(out) > limit:
        msg = (
            f"decompressed body exceeds {limit} bytes (set by limits.max_body_bytes); "
            "send smaller batches"
        )
        raise HttpError(413, msg)
    if not inflater.eof:
        raise HttpError(400, f"body is truncated {encoding}")
    return out


def _snappy(body: bytes, limit: int) -> bytes:
    """Snappy *block* format (not framed), as remote write v1 sends it; bombs are refused."""
    try:
        size = int(cramjam.snappy.decompress_raw_len(body))
    except Exception:
        size = -1
    if size > limit:
        msg = (
            f"body decompresses to {size} bytes, over the limit of {limit} bytes; "
            "send smaller batches"
        )
        raise HttpError(413, msg)
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except Exception as exc:
        msg = (
            f"body is not snappy block-compressed ({exc}); remote write v1 expects "
            "Content-Encoding: snappy with the block (not framed) format"
        )
        raise HttpError(400, msg) from None


def json_depth(body: bytes) -> int:
    """How deeply the arrays/objects of a JSON text nest (brackets inside strings ignored).

    Vectorised, as it runs before every OTLP/JSON body is parsed: escapes are dropped, then all
    but quotes and brackets; a bracket counts when an even number of quotes precedes it.
    """
    if b"\\" in body:
        body = _JSON_ESCAPE.sub(b"", body)  # an escaped character is never structure
    marks = np.frombuffer(body.translate(None, _NOT_STRUCTURE), dtype=np.uint8)
    if len(marks) == 0:
        return 0
    in_string = (np.cumsum(marks == ord('"'), dtype=np.int64) & 1).astype(np.bool_)
    steps = np.where(in_string, 0, _BRACKET_STEP[marks]).astype(np.int32)
    return max(0, int(np.cumsum(steps).max()))


def parse_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``body`` as JSON; :class:`HttpError` 400 when it is not JSON or nests too deeply."""
    depth = json_depth(body)
    if depth > max_depth:
        msg = f"body nests {depth} levels deep; at most {max_depth} are accepted"
        raise HttpError(400, msg)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise HttpError(400, f"body is not JSON: {exc}") from None


def otlp_error(status: int, message: str, content_type: str) -> Response:
    """An OTLP/HTTP error: ``google.rpc.Status`` in the request's encoding (protobuf or JSON)."""
    reply = status_pb2.Status(code=_GRPC_CODES.get(status, 2), message=message)
    if content_type == "application/json":
        body = json_format.MessageToJson(reply, indent=None).encode()
    else:
        body = reply.SerializeToString()
    return Response(body, status_code=status, media_type=content_type)


def prometheus_json(body: Mapping[str, Any], status: int = 200) -> Response:
    """A Prometheus HTTP API JSON answer (compact, UTF-8, no NaN literals)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(text, status_code=status, media_type="application/json")


def prometheus_error(
    status: int, error_type: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """``{"status":"error","errorType":...,"error":...}`` with ``status``, as Prometheus answers."""
    reply = prometheus_json({"status": "error", "errorType": error_type, "error": message}, status)
    reply.headers.update(headers or {})
    return reply


def plain_error(status: int, message: str) -> Response:
    """A one-line text error, as Prometheus's remote-write receiver answers."""
    return PlainTextResponse(message.rstrip("\n") + "\n", status_code=status)


def parse_time_ms(name: str, text: str) -> int:
    """A ``time``/``start``/``end`` parameter: unix seconds (fractions kept to the ms) or
    RFC 3339. :class:`HttpError` 400 in Prometheus's words otherwise."""
    raw = text.strip()
    try:
        number = float(raw)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            whole = math.trunc(number)
            millis = round((number - whole) * 1000) / 1000
            ms = int(whole) * 1000 + round(millis * 1000)
            return min(max(ms, MIN_TIME_MS), MAX_TIME_MS)  # int64 milliseconds, as Prometheus
    if raw == _MIN_TIME_TEXT:
        return MIN_TIME_MS
    if raw == _MAX_TIME_TEXT:
        return MAX_TIME_MS
    found = _RFC3339.match(raw)
    if found:
        frac = found.group(7) or ""
        base = raw[: found.start(7)] if frac else raw[: found.start(8)]
        zone = "+00:00" if found.group(8) in {"Z", "z"} else found.group(8)
        try:
            when = datetime.fromisoformat(base.replace("t", "T") + zone)
        except ValueError:
            when = None
        if when is not None:
            ms = int(when.timestamp()) * 1000
            return ms + (int((frac[1:] + "000")[:3]) if frac else 0)
    msg = f'invalid parameter "{name}": cannot parse "{text}" to a valid timestamp'
    raise HttpError(400, msg)


def parse_duration_ms(name: str, text: str) -> int:
    """A ``step``/``timeout``-like parameter: float seconds or a Prometheus duration (``1m30s``).
    :class:`HttpError` 400 in Prometheus's words otherwise."""
    raw = text.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            seconds = parse_duration(raw, name)
        except ConfigError:
            msg = f'invalid parameter "{name}": cannot parse "{text}" to a valid duration'
            raise HttpError(400, msg) from None
    if not math.isfinite(seconds) or abs(seconds) * 1e9 > 2**63 - 1:
        msg = (
            f'invalid parameter "{name}": cannot parse "{text}" to a valid duration. '
            "It overflows int64"
        )
        raise HttpError(400, msg)
    return int(seconds * 1000)
