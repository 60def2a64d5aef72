"""Scraping Prometheus targets from ``scrape_configs`` into the sample store.

One asyncio task per target, each on its own schedule (targets are spread over the interval by
a hash of their identity, as Prometheus does), so a slow or hanging target never delays
another: its scrape is bounded by ``scrape_timeout``. Parsing and storing run in worker
threads. File-SD jobs re-read their files when they change and stop the loops of targets that
went away, which writes staleness markers for all of that target's series.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from pathlib import Path

import httpx

from tripod import __version__
from tripod.server.config import ScrapeConfig
from tripod.server.deps import ServerContext
from tripod.server.ingest._prom_metrics import scrape_metrics
from tripod.server.ingest.scrape._targets import FileSD, Target, targets_for
from tripod.server.ingest.scrape._writer import ScrapeResult, TargetWriter

__all__ = [
    "ACCEPT",
    "ScrapeManager",
    "running_manager",
]

_log = logging.getLogger("tripod.server.scrape")

#: The Accept header Prometheus 2.x sends: OpenMetrics first, then text 0.0.4.
ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
_SD_POLL_S = 1.0  # how often file_sd files are stat'ed for changes (capped by refresh_interval)


def _offset(target: Target) -> float:
    """Where in its interval a target is scraped: stable per target, spread across targets."""
    digest = hashlib.sha256(repr(target.key).encode()).digest()
    return (int.from_bytes(digest[:8], "big") % 1_000_000) / 1_000_000 * target.interval_s


class TargetLoop:
    """Scrapes one target every interval until stopped."""

    def __init__(
        self, ctx: ServerContext, cfg: ScrapeConfig, target: Target, client: httpx.AsyncClient
    ) -> None:
        self.ctx = ctx
        self.target = target
        self.writer = TargetWriter(ctx, cfg, target)
        self.client = client
        self.last: ScrapeResult | None = None
        self.last_scrape_s = 0.0  # wall-clock start of the last scrape
        self.last_duration_s = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"scrape {self.target.url}")

    async def stop(self, stale: bool) -> None:
        """Cancel the loop; with ``stale``, mark every series of the target stale."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if stale:
            await asyncio.to_thread(self.writer.end, int(time.time() * 1000))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.target.interval_s
        due = loop.time() + _offset(self.target)
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                await self.scrape_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug or a store failure must not end the loop
                _log.exception("scrape of %s failed unexpectedly", self.target.url)
            due += interval
            behind = loop.time() - due
            if behind > 0:  # skip the ticks we missed rather than scrape in a burst
                due += interval * (int(behind // interval) + 1)

    async def scrape_once(self) -> ScrapeResult:
        """GET the target (bounded by its timeout), then parse and store in a worker thread."""
        wall = time.time()
        scrape_ms = int(wall * 1000)
        start = time.perf_counter()
        error = ""
        body = ""
        openmetrics = False
        try:
            async with asyncio.timeout(self.target.timeout_s):
                response = await self.client.get(
                    self.target.url,
                    headers={
                        "Accept": ACCEPT,
                        "User-Agent": f"tripod/{__version__}",
                        "X-Prometheus-Scrape-Timeout-Seconds": f"{self.target.timeout_s:g}",
                    },
                    timeout=self.target.timeout_s,
                )
            if response.status_code // 100 != 2:
                error = f"server returned HTTP status {response.status_code}"
            else:
                content_type = response.headers.get("content-type", "")
                openmetrics = content_type.startswith("application/openmetrics-text")
                body = response.text
        except (TimeoutError, httpx.TimeoutException):
            error = f"scrape timed out after {self.target.timeout_s:g}s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        duration = time.perf_counter() - start
        if error:
            result = await asyncio.to_thread(self.writer.failure, error, scrape_ms, duration)
        else:
            result = await asyncio.to_thread(
                self.writer.success, body, openmetrics, scrape_ms, duration
            )
        outcome = "success" if result.up else "failure"
        scrape_metrics(self.ctx).scrapes.labels(self.target.job, outcome).inc()
        if result.error and (self.last is None or self.last.error != result.error):
            _log.warning("scrape of %s failed: %s", self.target.url, result.error)
        self.last = result
        self.last_scrape_s = wall
        self.last_duration_s = duration
        return result


class _Job:
    """One scrape config: its target groups (static and file-SD) and one loop per target."""

    def __init__(
        self, ctx: ServerContext, cfg: ScrapeConfig, client: httpx.AsyncClient, base: Path
    ) -> None:
        self.ctx = ctx
        self.cfg = cfg
        self.client = client
        self.sds = [FileSD(sd, base) for sd in cfg.file_sd_configs]
        self.loops: dict[object, TargetLoop] = {}
        self.dropped: list[dict[str, str]] = []  # discovered labels of targets relabelled away
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for sd in self.sds:
            await asyncio.to_thread(sd.poll)
        await self.sync()
        if self.sds:
            self._watch = asyncio.create_task(
                self._watch_files(), name=f"file_sd {self.cfg.job_name}"
            )

    async def sync(self) -> None:
        groups = list(self.cfg.static_configs)
        for sd in self.sds:
            groups.extend(sd.groups())
        dropped: list[dict[str, str]] = []
        wanted = targets_for(self.cfg, groups, dropped)
        self.dropped = dropped
        for key in [k for k in self.loops if k not in wanted]:
            loop = self.loops.pop(key)
            _log.info("job %s: target %s went away", self.cfg.job_name, loop.target.url)
            await loop.stop(stale=True)
        for key, target in wanted.items():
            if key not in self.loops:
                loop = TargetLoop(self.ctx, self.cfg, target, self.client)
                self.loops[key] = loop
                loop.start()
        scrape_metrics(self.ctx).targets.labels(self.cfg.job_name).set(len(self.loops))

    async def _watch_files(self) -> None:
        poll = min([_SD_POLL_S, *(sd.config.refresh_interval_s for sd in self.sds)])
        while True:
            await asyncio.sleep(poll)
            try:
                changed = False
                for sd in self.sds:
                    changed |= await asyncio.to_thread(sd.poll)
                if changed:
                    await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("job %s: refreshing file_sd targets failed", self.cfg.job_name)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await asyncio.gather(*(loop.stop(stale=False) for loop in self.loops.values()))
        self.loops.clear()


_RUNNING: dict[int, ScrapeManager] = {}  # id(ctx) -> its started manager, for /api/v1/targets


def running_manager(ctx: ServerContext) -> ScrapeManager | None:
    """The started scrape manager of ``ctx``, if any."""
    return _RUNNING.get(id(ctx))


class ScrapeManager:
    """Scrapes ``ctx.config.scrape_configs`` targets into ``ctx.samples`` while started.

    The configs were validated when the settings were read; relative file_sd paths are
    resolved against ``base_dir`` (default: the current directory).
    """

    def __init__(self, ctx: ServerContext, base_dir: Path | None = None) -> None:
        self.ctx = ctx
        self.base_dir = base_dir or Path.cwd()
        self.jobs: list[_Job] = []
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        configs = self.ctx.config.scrape_configs
        _RUNNING[id(self.ctx)] = self
        if not configs:
            return
        self._client = httpx.AsyncClient(
            follow_redirects=True,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            timeout=httpx.Timeout(60.0),  # each scrape is bounded by its own timeout
        )
        for cfg in configs:
            job = _Job(self.ctx, cfg, self._client, self.base_dir)
            self.jobs.append(job)
            await job.start()

    async def stop(self) -> None:
        if _RUNNING.get(id(self.ctx)) is self:
            del _RUNNING[id(self.ctx)]
        await asyncio.gather(*(job.stop() for job in self.jobs))
        self.jobs.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
