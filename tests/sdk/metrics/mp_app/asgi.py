"""A tiny ASGI app with explicit tripod init, for ``uvicorn --workers N``."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import tripod


async def _plain(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"x-pid", str(os.getpid()).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


tripod.init(service_name="mp-test")
app = tripod.instrument(_plain)
