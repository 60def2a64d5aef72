"""Prometheus remote write v1 receiver: ``POST /api/v1/write`` (protobuf + snappy).

Answers as Prometheus's own receiver does: 204 when everything was stored; 400 with a plain-text
reason when the body cannot be decoded (nothing kept) or when samples were refused (invalid
labels, limits, out-of-order/duplicate timestamps) — senders retry only on 5xx, so a 400 stops
them resending a batch that can never succeed. Unlike Prometheus (which rolls the whole batch
back), the valid samples of a partly refused batch are kept, as remote write 2.0 allows.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tripod.server._http import SNAPPY, HttpError, plain_error, read_body
from tripod.server.deps import ServerContext
from tripod.server.ingest._prom_metrics import record
from tripod.server.ingest._prom_remote import (
    DECOMPRESSED_FACTOR,
    DecodedWrite,
    LabelCache,
    RemoteWriteError,
    decode_write_request,
)
from tripod.server.store.model import AppendResult, Exemplar

__all__ = ["ingest_body", "label_cache", "routes"]

_log = logging.getLogger("tripod.server.remote_write")

_PROTOBUF = "application/x-protobuf"


def label_cache(ctx: ServerContext) -> LabelCache:
    """A label-set memo resolving each series to its store ref (made once per label set)."""
    return LabelCache(ctx.config.limits, ctx.samples.ref)


def _store(ctx: ServerContext, cache: LabelCache, decoded: DecodedWrite) -> AppendResult:
    if not decoded.keys:
        return AppendResult()
    if cache.resolve is None:  # a decode-only cache: keys are label dicts
        return ctx.samples.append(decoded.samples)
    return ctx.samples.append_refs(
        np.array(decoded.keys, dtype=np.int64),
        np.array(decoded.stamps, dtype=np.int64),
        np.array(decoded.values, dtype=np.float64),
    )


def _summary(refused: AppendResult, stored: AppendResult, total: int) -> str:
    counts: dict[str, int] = dict(refused.rejected)
    for reason, n in stored.rejected.items():
        counts[reason] = counts.get(reason, 0) + n
    kinds = ", ".join(f"{reason}={n}" for reason, n in sorted(counts.items()))
    errors = "; ".join([*refused.errors, *stored.errors][:3])
    return f"{sum(counts.values())} of {total} samples rejected ({kinds}): {errors}"


def ingest_body(ctx: ServerContext, cache: LabelCache, body: bytes) -> tuple[int, str]:
    """Decode a decompressed WriteRequest and store it; returns ``(status, reason)``.
    Runs in a worker thread."""
    try:
        decoded = decode_write_request(body, ctx.config.limits, cache)
    except RemoteWriteError as exc:
        record(ctx, "remote_write", 0, {"undecodable": 1})
        return exc.status, str(exc)
    for metric, type_, help_, unit in decoded.metadata:
        if metric:
            ctx.samples.set_metadata(metric, type_, help_, unit)
    stored = _store(ctx, cache, decoded)
    for series, labels, value, ts_ms in decoded.exemplars:
        ctx.exemplars.add(series, Exemplar(labels, value, ts_ms))
    refused = decoded.refused
    rejected = dict(refused.rejected)
    for reason, n in stored.rejected.items():
        rejected[reason] = rejected.get(reason, 0) + n
    record(ctx, "remote_write", stored.accepted, rejected)
    if not rejected:
        return 204, ""
    total = len(decoded.keys) + sum(refused.rejected.values())
    return 400, _summary(refused, stored, total)


def _check_headers(request: Request) -> None:
    # Like Prometheus, missing headers are tolerated (v1 and snappy assumed); wrong ones are not.
    media, *params = request.headers.get("content-type", "").lower().split(";")
    content_type = media.strip()
    if content_type and content_type != _PROTOBUF:
        msg = (
            f"Content-Type {content_type!r} is not accepted: remote write v1 sends "
            f"{_PROTOBUF} (prometheus.WriteRequest)"
        )
        raise HttpError(415, msg)
    for param in params:
        name, _, value = param.strip().partition("=")
        if name == "proto" and value.strip() != "prometheus.writerequest":
            msg = (
                f"protobuf message {value.strip()!r} is not accepted: tripod takes remote write "
                "1.0 (prometheus.WriteRequest); set the sender's protobuf_message to "
                "prometheus.WriteRequest"
            )
            raise HttpError(415, msg)


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """Prometheus ingest's routes: ``POST /api/v1/write`` bound to ``ctx``'s store and limits,"""

    cache = label_cache(ctx)
    warned_until = [0.0]

    async def write(request: Request) -> Response:
        limit = ctx.config.limits.max_body_bytes
        try:
            _check_headers(request)
            body = await read_body(
                request,
                limit,
                encodings=SNAPPY,
                default_encoding="snappy",
                max_decoded=limit * DECOMPRESSED_FACTOR,
            )
        except HttpError as exc:
            record(ctx, "remote_write", 0, {"undecodable": 1})
            return plain_error(exc.status, str(exc))
        try:
            status, reason = await run_in_threadpool(ingest_body, ctx, cache, body)
        except Exception:
            # The store failed (disk, database): 5xx so the sender retries the batch.
            _log.exception("remote write: storing a batch failed")
            reason = "storing the batch failed; see the server log (the sender will retry)"
            return plain_error(500, reason)
        if status == 204:
            return Response(status_code=204)
        if status == 400 and time.monotonic() >= warned_until[0]:
            warned_until[0] = time.monotonic() + 10.0  # at most one warning per 10 s
            _log.warning("remote write refused (400): %s", reason)
        return plain_error(status, reason)

    return [Route("/api/v1/write", write, methods=["POST"])]
