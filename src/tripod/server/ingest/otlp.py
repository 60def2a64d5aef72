"""OTLP/HTTP receiver: ``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs``.

Bodies are ``application/x-protobuf`` or ``application/json`` (OTLP/JSON: hex trace and span
ids, enums as numbers, lowerCamelCase keys), optionally gzip- or deflate-encoded, decoded with
opentelemetry-proto. A body that is too large (413), of another type (415) or that does not
decode (400) gets a ``google.rpc.Status`` with the reason, and nothing is stored. Items refused by
a limit are counted and reported in the OTLP partial-success response; the rest is stored and
committed before the response is sent.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tripod.server import selfmetrics
from tripod.server._http import HttpError, otlp_error, parse_json, read_body
from tripod.server.deps import ServerContext
from tripod.server.ingest.otlp_convert import SpanConverter, logs_to_columns, spans_to_columns
from tripod.server.ingest.otlp_metrics import ExemplarRow, MetricsConverter
from tripod.server.store.model import AppendResult, Exemplar

__all__ = ["decode_body", "routes"]

_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping wants base64 for bytes fields."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    raw = bytes.fromhex(value)
                except ValueError:
                    msg = f"{key} {value[:40]!r} is not a hex string; OTLP/JSON ids are hex"
                    raise HttpError(400, msg) from None
                out[key] = base64.b64encode(raw).decode()
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


def decode_body(body: bytes, content_type: str, message: Message) -> Message:
    """Fill ``message`` from an OTLP/HTTP body of ``content_type``; HttpError(400) if malformed."""
    if content_type == _PROTOBUF:
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            msg = f"body is not a valid {type(message).__name__} protobuf: {exc}"
            raise HttpError(400, msg) from None
        return message
    doc = parse_json(body)
    if not isinstance(doc, dict):
        msg = f"body must be a JSON object ({type(message).__name__}), not {type(doc).__name__}"
        raise HttpError(400, msg)
    try:
        json_format.ParseDict(_hex_ids_to_base64(doc), message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        reason = str(exc).replace("\n", " ")[:300]
        msg = f"body is not a valid OTLP/JSON {type(message).__name__}: {reason}"
        raise HttpError(400, msg) from None
    return message


def _reply(content_type: str, message: Message) -> Response:
    if content_type == _JSON:
        body = json_format.MessageToJson(message, indent=None).encode()
    else:
        body = message.SerializeToString()
    return Response(body, media_type=content_type)


def _make_route(
    ctx: ServerContext,
    *,
    path: str,
    signal: str,
    request_type: type[Message],
    store: Callable[[Message, AppendResult], None],
    response: Callable[[AppendResult], Message],
    fast: Callable[[bytes, AppendResult], bool] | None = None,
) -> Route:
    """The POST route of one signal. ``fast`` (protobuf bodies only) decodes and stores a body
    in one go and says whether it did; when it did not (the body does not decode its way), the
    body goes through ``decode_body`` and ``store``, which word any refusal."""

    async def endpoint(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        reply_type = _JSON if ctype == _JSON else _PROTOBUF
        limit = ctx.config.limits.max_body_bytes
        try:
            if ctype not in (_PROTOBUF, _JSON):
                msg = (f"Content-Type {ctype or '(none)'!r} is not supported; send "
                       f"{_PROTOBUF} or {_JSON}")  # fmt: skip
                raise HttpError(415, msg)
            body = await read_body(request, limit)
            result = AppendResult()
            done = fast is not None and ctype == _PROTOBUF
            if done:
                assert fast is not None
                done = await run_in_threadpool(fast, body, result)
            if not done:
                message = await run_in_threadpool(decode_body, body, ctype, request_type())
        except HttpError as exc:
            selfmetrics.record_rejected(ctx, signal, exc.reason, 1)
            return otlp_error(exc.status, str(exc), reply_type)
        if not done:
            await run_in_threadpool(store, message, result)
        selfmetrics.record_ingested(ctx, signal, "otlp", result.accepted)
        for reason, n in result.rejected.items():
            selfmetrics.record_rejected(ctx, signal, reason, n)
        return _reply(reply_type, response(result))

    return Route(path, endpoint, methods=["POST"])


def _partial(result: AppendResult) -> tuple[int, str]:
    rejected = sum(result.rejected.values())
    if not rejected:
        return 0, ""
    counts = ", ".join(f"{n} {reason}" for reason, n in sorted(result.rejected.items()))
    return rejected, f"refused {counts}: " + "; ".join(result.errors[:3])


def routes(ctx: ServerContext) -> list[BaseRoute]:
    limits = ctx.config.limits
    converter = MetricsConverter()

    def store_spans(message: Message, result: AppendResult) -> None:
        ctx.spans.append(spans_to_columns(message, limits, result))

    span_converter = SpanConverter(limits)

    def fast_spans(body: bytes, result: AppendResult) -> bool:
        """Decode + convert + store a protobuf body with :class:`SpanConverter` (one thread hop,
        each distinct attribute decoded once); False, with nothing stored, when it does not
        decode that way (the general path then answers, e.g. 400 with protobuf's reason)."""
        mine = AppendResult()  # left out if a span's attribute turns out not to decode
        try:
            columns = span_converter.body_columns(body, mine)
            if columns is None:
                columns = span_converter.columns(span_converter.parse(body), mine)
        except DecodeError:
            return False
        ctx.spans.append(columns)
        result.accepted, result.rejected, result.errors = mine.accepted, mine.rejected, mine.errors
        return True

    def store_logs(message: Message, result: AppendResult) -> None:
        ctx.logs.append(logs_to_columns(message, limits, result, time.time_ns()))

    def store_metrics(message: Message, result: AppendResult) -> None:
        exemplars: list[ExemplarRow] = []
        samples, meta = converter.convert(message, result, exemplars)
        appended = ctx.samples.append(samples)
        result.accepted += appended.accepted
        for reason, n in appended.rejected.items():
            result.rejected[reason] = result.rejected.get(reason, 0) + n
        result.errors.extend(appended.errors[: max(0, 10 - len(result.errors))])
        for name, (type_, help_, unit) in meta.items():
            ctx.samples.set_metadata(name, type_, help_, unit)
        for series, labels, value, ts_ms in exemplars:
            ctx.exemplars.add(series, Exemplar(labels, value, ts_ms))

    def traces_response(result: AppendResult) -> Message:
        n, msg = _partial(result)
        partial = trace_pb.ExportTracePartialSuccess(rejected_spans=n, error_message=msg)
        return trace_pb.ExportTraceServiceResponse(partial_success=partial if n else None)

    def logs_response(result: AppendResult) -> Message:
        n, msg = _partial(result)
        partial = logs_pb.ExportLogsPartialSuccess(rejected_log_records=n, error_message=msg)
        return logs_pb.ExportLogsServiceResponse(partial_success=partial if n else None)

    def metrics_response(result: AppendResult) -> Message:
        n, msg = _partial(result)
        partial = metrics_pb.ExportMetricsPartialSuccess(rejected_data_points=n, error_message=msg)
        return metrics_pb.ExportMetricsServiceResponse(partial_success=partial if n else None)

    return [
        _make_route(
            ctx,
            path="/v1/traces",
            signal="spans",
            request_type=trace_pb.ExportTraceServiceRequest,
            store=store_spans,
            response=traces_response,
            fast=fast_spans,
        ),
        _make_route(
            ctx,
            path="/v1/logs",
            signal="logs",
            request_type=logs_pb.ExportLogsServiceRequest,
            store=store_logs,
            response=logs_response,
        ),
        _make_route(
            ctx,
            path="/v1/metrics",
            signal="samples",
            request_type=metrics_pb.ExportMetricsServiceRequest,
            store=store_metrics,
            response=metrics_response,
        ),
    ]
