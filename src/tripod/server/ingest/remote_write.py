"""Placeholder until its owner lands it: contributes no routes yet."""

from __future__ import annotations

from starlette.routing import BaseRoute

from tripod.server.context import ServerContext


def routes(ctx: ServerContext) -> list[BaseRoute]:
    return []
