"""Load the generated data into a real Prometheus and a real `tripod serve`, and query both.

Prometheus gets the data as TSDB blocks written by ``promtool tsdb create-blocks-from openmetrics``;
tripod gets the very same OpenMetrics file through ``POST /api/v1/import/prometheus``. Both answer
the Prometheus HTTP API, which :class:`Backend` calls and reduces to a comparable :class:`Answer`.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.conformance import datagen
from tests.helpers.procs import Proc, start_prometheus, start_tripod_serve

OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PROMETHEUS_CONFIG = "global:\n  evaluation_interval: 1m\nscrape_configs: []\n"


@dataclasses.dataclass(frozen=True)
class Answer:
    """One HTTP API answer, reduced to what the comparison looks at."""

    http_status: int
    status: str  # "success" | "error" | "invalid" (not the Prometheus envelope at all)
    result_type: str | None = None
    result: Any = None
    error_type: str | None = None
    error: str | None = None

    @classmethod
    def from_response(cls, response: httpx.Response) -> Answer:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return cls(response.status_code, "invalid", error=response.text[:300])
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            return cls(response.status_code, "invalid", error=str(body)[:300])
        if body["status"] == "error":
            return cls(response.status_code, "error", error_type=body.get("errorType"),
                       error=body.get("error"))  # fmt: skip
        data = body.get("data") or {}
        return cls(response.status_code, "success", data.get("resultType"), data.get("result"))


class Backend:
    """The Prometheus HTTP API of one server, queried with GET like Grafana does.

    ``recover``, when given, restarts a server that stopped answering and returns its new URL:
    Prometheus 2.42 can deadlock on a memSeries lock under load (seen here: every query then
    waits on ``headIndexReader.Series`` forever). A timed-out query triggers one restart (shared
    by the threads that saw it) and is asked again; a second timeout is reported as an answer.
    """

    def __init__(
        self,
        name: str,
        url: str,
        timeout: float = 60.0,
        recover: Callable[[], str] | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.timeout = timeout
        self.client = httpx.Client(base_url=url, timeout=timeout)
        self.recover = recover
        self.restarts = 0
        self._lock = threading.Lock()

    def instant(self, query: str, at: float) -> Answer:
        return self._get("/api/v1/query", {"query": query, "time": _fmt(at)})

    def range(self, query: str, start: float, end: float, step: float) -> Answer:
        params = {"query": query, "start": _fmt(start), "end": _fmt(end), "step": _fmt(step)}
        return self._get("/api/v1/query_range", params)

    def _get(self, path: str, params: dict[str, str]) -> Answer:
        generation = self.restarts
        try:
            return Answer.from_response(self.client.get(path, params=params))
        except httpx.TimeoutException as exc:
            if self.recover is None:
                return Answer(0, "invalid", error=f"{type(exc).__name__}: {exc}")
            self._restart(generation)
        except httpx.HTTPError as exc:
            return Answer(0, "invalid", error=f"{type(exc).__name__}: {exc}")
        try:
            return Answer.from_response(self.client.get(path, params=params))
        except httpx.HTTPError as exc:
            return Answer(0, "invalid", error=f"{type(exc).__name__} after a restart: {exc}")

    def _restart(self, generation: int) -> None:
        with self._lock:
            if self.restarts != generation or self.recover is None:
                return  # another thread restarted it already
            self.url = self.recover()
            old, self.client = self.client, httpx.Client(base_url=self.url, timeout=self.timeout)
            old.close()
            self.restarts += 1

    def close(self) -> None:
        self.client.close()


def _fmt(seconds: float) -> str:
    return f"{seconds:.3f}"


def create_blocks(openmetrics: Path, tsdb_dir: Path) -> str:
    """Run promtool's backfill; returns its report (block list)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        msg = "promtool not found on PATH: install Debian's prometheus package (`make apt`)"
        raise RuntimeError(msg)
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(openmetrics), str(tsdb_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        msg = f"promtool create-blocks-from openmetrics failed ({done.returncode}): {done.stderr}"
        raise RuntimeError(msg)
    return done.stdout


def start_prometheus_with_blocks(workdir: Path, openmetrics: Path) -> Proc:
    """A real Prometheus serving the backfilled blocks (retention long enough for old data)."""
    tsdb = workdir / "tsdb"
    create_blocks(openmetrics, tsdb)
    return start_prometheus(workdir, PROMETHEUS_CONFIG, "--storage.tsdb.retention.time=100y",
                            "--web.enable-remote-write-receiver", storage=tsdb)  # fmt: skip


def restart_prometheus(proc: Proc, workdir: Path, *, fresh_head: bool = False) -> Proc:
    """Kill a hung Prometheus and start it again on the same storage (the backfilled blocks,
    and the WAL that replays what was remote-written). ``fresh_head``: drop the head (WAL and
    memory-mapped head chunks) instead; after a SIGKILL, 2.42 replayed the WAL but then answered
    queries over that data with "corruption in head chunk file ... does not exist on disk", so
    the caller sends the remote-written data again."""
    proc.stop(timeout=5.0)  # SIGTERM, then SIGKILL: a deadlocked Prometheus may not shut down
    if fresh_head:
        for name in ("wal", "chunks_head", "wbl"):
            shutil.rmtree(workdir / "tsdb" / name, ignore_errors=True)
    flags = ("--storage.tsdb.retention.time=100y", "--web.enable-remote-write-receiver")
    return start_prometheus(workdir, PROMETHEUS_CONFIG, *flags, storage=workdir / "tsdb")


def family_chunks(openmetrics: Path) -> Iterator[str]:
    """The OpenMetrics file split per metric family, each chunk a complete body ending in EOF."""
    chunk: list[str] = []
    for line in openmetrics.read_text().splitlines():
        if line == "# EOF":
            break
        if line.startswith("# HELP ") and chunk:
            yield "\n".join([*chunk, "# EOF"]) + "\n"
            chunk = []
        chunk.append(line)
    if chunk:
        yield "\n".join([*chunk, "# EOF"]) + "\n"


def import_into_tripod(url: str, openmetrics: Path) -> None:
    """POST the data to tripod's import endpoint, one family per request."""
    with httpx.Client(base_url=url, timeout=120.0) as client:
        for body in family_chunks(openmetrics):
            response = client.post("/api/v1/import/prometheus", content=body.encode(),
                                   headers={"Content-Type": OPENMETRICS_TYPE})  # fmt: skip
            if response.status_code >= 300:
                first = body.split("\n", 1)[0]
                msg = (f"tripod import of {first!r} answered {response.status_code}: "
                       f"{response.text[:500]}")  # fmt: skip
                raise RuntimeError(msg)


def start_tripod_with_data(workdir: Path, openmetrics: Path) -> Proc:
    """A real `tripod serve` (retention 0 keeps 2024 data) with the data set imported."""
    proc = start_tripod_serve(workdir / "tripod-data", "--retention-time", "0")
    try:
        import_into_tripod(proc.url, openmetrics)
    except BaseException:
        proc.stop()
        raise
    return proc


def generate(workdir: Path, seed: int = datagen.SEED) -> Path:
    path = workdir / "data.om"
    datagen.write_openmetrics(path, seed)
    return path
