"""Health checks: results, timeouts, metrics; /healthz and /readyz on real ASGI and WSGI servers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import tripod
from tests.sdk.integrations.test_httpclient import Server
from tripod.sdk import health
from tripod.testing import Capture


@pytest.fixture(autouse=True)
def release() -> Iterator[threading.Event]:
    health.clear_health_checks()
    release = threading.Event()
    yield release
    release.set()  # lets hanging sync checks of the test finish their threads
    health.clear_health_checks()


def test_results_of_passing_failing_and_hanging_checks(
    tripod_capture: Capture, release: threading.Event
) -> None:
    calls: list[str] = []

    @tripod.health_check("db")
    def db() -> None:
        calls.append("db")

    @tripod.health_check("cache")
    async def cache() -> bool:
        await asyncio.sleep(0)
        return True

    @tripod.health_check("queue")
    def queue() -> bool:
        return False

    @tripod.health_check("search")
    async def search() -> None:
        msg = "connection refused (Bearer abc123)"
        raise ConnectionError(msg)

    @tripod.health_check("stuck", timeout=0.2)
    def stuck() -> None:
        calls.append("stuck")
        release.wait(30)

    @tripod.health_check("stuck_async", timeout=0.2)
    async def stuck_async() -> None:
        while not release.is_set():  # hangs until the test ends (on whichever loop runs it)
            await asyncio.sleep(0.02)

    for ok, report in (health.run_checks(), asyncio.run(health.run_checks_async())):
        assert ok is False
        checks = report["checks"]
        assert report["status"] == "fail"
        assert {name: c["status"] for name, c in checks.items()} == {
            "db": "pass", "cache": "pass", "queue": "fail", "search": "fail", "stuck": "fail",
            "stuck_async": "fail",
        }  # fmt: skip
        assert checks["queue"]["error"] == "check returned False"
        assert (
            checks["search"]["error"] == "ConnectionError: connection refused (Bearer [REDACTED])"
        )
        assert checks["stuck"]["error"] == "timed out after 0.2s"
        assert checks["stuck_async"]["error"] == "timed out after 0.2s"
        assert checks["stuck"]["duration_seconds"] >= 0.2
    # The second probe found the first run of the hung check still going and waited on it.
    assert calls == ["db", "stuck", "db"]
    assert tripod_capture.sample("tripod_health_check_status", check="db") == 1
    assert tripod_capture.sample("tripod_health_check_status", check="stuck") == 0
    duration = tripod_capture.sample("tripod_health_check_duration_seconds", check="stuck")
    assert duration is not None
    assert duration >= 0.2


def test_bad_registrations_are_refused() -> None:
    with pytest.raises(ValueError, match="health check name"):
        tripod.health_check("db check")
    with pytest.raises(ValueError, match="timeout must be"):
        tripod.health_check("db", timeout=0)


def test_endpoints_only_when_checks_exist_on_a_real_asgi_server(
    tripod_capture: Capture, release: threading.Event
) -> None:
    async def own(request: Any) -> PlainTextResponse:
        return PlainTextResponse("app's own")

    app = tripod.instrument(Starlette(routes=[Route("/healthz", own)]))
    server = Server(app)
    try:
        assert httpx.get(server.url + "/healthz").text == "app's own"

        @tripod.health_check("db")
        async def db() -> None:
            await asyncio.sleep(0)

        live = httpx.get(server.url + "/healthz")
        assert (live.status_code, live.json()) == (200, {"status": "pass"})
        ready = httpx.get(server.url + "/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["db"]["status"] == "pass"

        @tripod.health_check("stuck", timeout=0.3)
        def stuck() -> None:
            release.wait(30)

        ready = httpx.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"]["stuck"] == {
            "status": "fail",
            "duration_seconds": ready.json()["checks"]["stuck"]["duration_seconds"],
            "error": "timed out after 0.3s",
        }
        assert httpx.post(server.url + "/readyz").status_code == 405
        scrape = httpx.get(server.url + "/metrics").text
        assert 'tripod_health_check_status{check="db"} 1.0' in scrape
        assert 'tripod_health_check_status{check="stuck"} 0.0' in scrape
    finally:
        server.stop()


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_readyz_on_a_real_wsgi_server(tripod_capture: Capture) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"app"]

    @tripod.health_check("cache")
    async def cache() -> bool:
        return False

    httpd = make_server("127.0.0.1", 0, tripod.instrument(app), handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        assert httpx.get(url + "/healthz").json() == {"status": "pass"}
        ready = httpx.get(url + "/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["cache"]["error"] == "check returned False"
        assert httpx.get(url + "/other").text == "app"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
