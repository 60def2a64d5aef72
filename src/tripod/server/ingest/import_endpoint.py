"""The ``POST /api/v1/import/prometheus`` route: the fast path (``_import_fast``) first, then the
parsers of ``import_text`` (see its module doc). A module of its own so that neither parser
module imports the other's importer."""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tripod.server import selfmetrics
from tripod.server._http import HttpError, prometheus_error, read_body
from tripod.server.deps import ServerContext
from tripod.server.ingest import _import_fast
from tripod.server.ingest.import_text import ExpositionError, parse_exposition, store_parsed
from tripod.server.store.model import AppendResult

__all__ = ["routes"]


def routes(ctx: ServerContext) -> list[BaseRoute]:
    cache: dict[str, int] = {}
    memo = _import_fast.SeriesMemo()

    async def import_prometheus(request: Request) -> Response:
        limit = ctx.config.limits.max_body_bytes
        ctype = request.headers.get("content-type", "text/plain").split(";")[0].strip().lower()
        openmetrics = ctype == "application/openmetrics-text"
        try:
            raw = await read_body(request, limit, max_decoded=limit * 8)
        except HttpError as exc:
            selfmetrics.record_rejected(ctx, "samples", exc.reason, 1)
            msg = f"cannot import: {exc}; nothing was stored"
            return prometheus_error(exc.status, "bad_data", msg)

        def work() -> AppendResult | str:
            now_ms = int(time.time() * 1000)
            fast = _import_fast.parse_fast(raw, openmetrics, now_ms, memo)
            if fast is not None:
                return _import_fast.store_fast(ctx.samples, fast, memo)
            try:
                text = raw.decode("utf-8")
                parsed = parse_exposition(text, openmetrics, now_ms)
            except (ExpositionError, ValueError) as exc:
                return f"cannot import: {exc}; nothing was stored"
            return store_parsed(ctx, parsed, cache)

        result = await run_in_threadpool(work)  # parsing 100k lines takes ~0.2 s: off the loop
        if isinstance(result, str):
            selfmetrics.record_rejected(ctx, "samples", "malformed", 1)
            return prometheus_error(400, "bad_data", result)
        selfmetrics.record_ingested(ctx, "samples", "import", result.accepted)
        for reason, n in result.rejected.items():
            selfmetrics.record_rejected(ctx, "samples", reason, n)
        if result.rejected:
            counts = ", ".join(f"{n} {r}" for r, n in sorted(result.rejected.items()))
            msg = (f"stored {result.accepted} samples, refused {counts}: "
                   + "; ".join(result.errors[:3]))  # fmt: skip
            return prometheus_error(400, "bad_data", msg)
        return Response(status_code=204)

    return [Route("/api/v1/import/prometheus", import_prometheus, methods=["POST"])]
