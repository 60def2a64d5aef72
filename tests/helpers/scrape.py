"""Helpers for tests that scrape or remote-write into a real `tripod serve`: a threaded
exposition target, polling, the server's self-metrics, and a read of a stopped server's store."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.procs import Proc
from tripod.server.store import Database, DuckSampleStore, Matcher


class ExpositionServer:
    """Serves ``body`` (or ``body(request_number)``) on /metrics from a thread; counts
    requests and remembers their Accept headers."""

    def __init__(self, body: str | Callable[[int], str], delay_s: float = 0.0) -> None:
        self.body = body
        self.delay_s = delay_s
        self.requests = 0
        self.accept: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                outer.accept.append(self.headers.get("Accept", ""))
                if outer.delay_s:
                    time.sleep(outer.delay_s)
                body = outer.body if isinstance(outer.body, str) else outer.body(outer.requests)
                payload = body.encode()
                with contextlib.suppress(OSError):  # a scraper that timed out has hung up
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def self_metric(proc: Proc, name: str, **labels: str) -> float:
    """A sample of tripod's own /metrics (0 when absent)."""
    text = httpx.get(proc.url + "/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def read_store(data_dir: Path) -> tuple[dict[str, list], dict[str, list[dict[str, str]]]]:  # type: ignore[type-arg]
    """Every series of a stopped server's store, by metric name, and its metadata."""
    db = Database(data_dir)
    try:
        store = DuckSampleStore(db)
        series = store.select([Matcher("__name__", "=~", ".+")], 0, 2**62)
        by_name: dict[str, list] = {}  # type: ignore[type-arg]
        for s in series:
            by_name.setdefault(s.labels["__name__"], []).append(s)
        return by_name, store.metadata()
    finally:
        db.close()
