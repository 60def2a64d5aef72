"""A Starlette app whose ``POST /enqueue/{task}`` sends a task: the HTTP request's trace goes on
into the worker that runs it."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

import tripod

from .tasks import add, boom, flaky


async def enqueue(request: Request) -> JSONResponse:
    name = request.path_params["task"]
    if name == "add":
        result = add.delay(2, 3)
    elif name == "flaky":
        result = flaky.delay(request.query_params.get("key", "k"))
    elif name == "boom":
        result = boom.delay()
    else:
        return JSONResponse({"error": f"unknown task {name!r}: use add, flaky or boom"}, 404)
    return JSONResponse({"task_id": result.id})


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = tripod.instrument(
    Starlette(
        routes=[Route("/enqueue/{task}", enqueue, methods=["POST"]), Route("/health", health)]
    )
)
