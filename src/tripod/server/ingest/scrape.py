"""Placeholder until its owner lands it: the scrape loop manager's interface."""

from __future__ import annotations

from tripod.server.context import ServerContext


class ScrapeManager:
    """Scrapes ``ctx.config.scrape_configs`` targets into ``ctx.samples`` while started."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
