"""Outgoing HTTP on real servers: an instrumented uvicorn app calls a second uvicorn app with
httpx (sync and async) and requests; client spans, propagation and the client histogram."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import tripod
from tests.helpers.procs import free_port
from tripod.sdk.integrations import httpclient
from tripod.testing import Capture


class Server:
    """A real uvicorn server on a thread of this process; ``stop()`` ends it."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                msg = f"uvicorn did not start on {self.url}"
                raise RuntimeError(msg)
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


async def echo(request: Request) -> Response:
    """The downstream: answers with the headers it received (and a status on demand)."""
    status = int(request.query_params.get("status", "200"))
    return JSONResponse({k.lower(): v for k, v in request.headers.items()}, status_code=status)


def upstream_app(down: str, dead: str) -> Starlette:
    def via_requests(request: Request) -> Response:
        status = request.query_params.get("status", "200")
        got = requests.get(f"{down}/echo?status={status}&token=s3cret", timeout=5)
        return JSONResponse(got.json())

    def via_httpx_sync(request: Request) -> Response:
        with httpx.Client() as client:
            return JSONResponse(client.get(f"{down}/echo").json())

    async def via_httpx_async(request: Request) -> Response:
        async with httpx.AsyncClient() as client:
            return JSONResponse((await client.get(f"{down}/echo")).json())

    async def refused_httpx(request: Request) -> Response:
        try:
            async with httpx.AsyncClient() as client:
                await client.get(f"{dead}/x")
        except httpx.ConnectError as exc:
            return JSONResponse({"caught": type(exc).__name__})
        return JSONResponse({"caught": None})

    def refused_requests(request: Request) -> Response:
        try:
            requests.get(f"{dead}/x", timeout=5)
        except requests.ConnectionError as exc:
            return JSONResponse({"caught": type(exc).__name__})
        return JSONResponse({"caught": None})

    return Starlette(
        routes=[
            Route("/requests", via_requests),
            Route("/httpx-sync", via_httpx_sync),
            Route("/httpx-async", via_httpx_async),
            Route("/refused-httpx", refused_httpx),
            Route("/refused-requests", refused_requests),
        ]
    )


@pytest.fixture
def servers(tripod_capture: Capture) -> Iterator[tuple[Capture, str, str]]:
    down = Server(Starlette(routes=[Route("/echo", echo)]))
    dead = f"http://127.0.0.1:{free_port()}"
    up = Server(tripod.instrument(upstream_app(down.url, dead)))
    try:
        yield tripod_capture, up.url, down.url
    finally:
        up.stop()
        down.stop()
        httpclient.uninstrument()


def _by_kind(cap: Capture, kind: str) -> list[dict[str, Any]]:
    return [s for s in cap.spans_as_dicts() if s["kind"] == kind]


@pytest.mark.parametrize("route", ["/requests", "/httpx-sync", "/httpx-async"])
def test_client_span_is_child_of_server_span_and_traceparent_reaches_downstream(
    servers: tuple[Capture, str, str], route: str
) -> None:
    cap, up, down = servers
    received = httpx.get(up + route, headers={"X-Correlation-ID": "order-42"}, timeout=10).json()
    [server] = _by_kind(cap, "SERVER")
    clients = [s for s in _by_kind(cap, "CLIENT") if s["parent"] == server["context"]]
    [client] = clients
    trace_id, span_id = client["context"]["trace_id"], client["context"]["span_id"]
    assert client["context"]["trace_id"] == server["context"]["trace_id"]
    assert received["traceparent"] == f"00-{trace_id:032x}-{span_id:016x}-01"
    assert received["x-correlation-id"] == "order-42"
    port = int(down.rpartition(":")[2])
    assert client["name"] == "GET"
    attrs = client["attributes"]
    assert attrs["http.request.method"] == "GET"
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == port
    assert attrs["http.response.status_code"] == 200
    assert attrs["url.full"].startswith(f"{down}/echo")
    assert "error.type" not in attrs
    labels = {
        "http_request_method": "GET",
        "http_response_status_code": "200",
        "server_address": "127.0.0.1",
        "error_type": "",
    }
    # Two calls were measured: the test's own call to the upstream and the upstream's call.
    assert cap.sample("http_client_request_duration_seconds_count", **labels) == 2
    scrape = httpx.get(up + "/metrics", timeout=10).text
    assert 'http_client_request_duration_seconds_count{http_request_method="GET"' in scrape
    openmetrics = httpx.get(
        up + "/metrics", headers={"Accept": "application/openmetrics-text"}, timeout=10
    ).text
    # Buckets keep their latest exemplar: the upstream's call or the test's own (which ends last).
    exemplars = {
        f'# {{trace_id="{c["context"]["trace_id"]:032x}",span_id="{c["context"]["span_id"]:016x}"}}'
        for c in _by_kind(cap, "CLIENT")
    }
    assert any(
        line.startswith("http_client_request_duration_seconds_bucket") and ex in line
        for line in openmetrics.splitlines()
        for ex in exemplars
    )


def test_secrets_are_redacted_and_error_statuses_marked(
    servers: tuple[Capture, str, str],
) -> None:
    cap, up, _down = servers
    httpx.get(up + "/requests?status=503", timeout=10)
    [server] = _by_kind(cap, "SERVER")
    [client] = [s for s in _by_kind(cap, "CLIENT") if s["parent"] == server["context"]]
    assert client["attributes"]["url.full"].endswith("/echo?status=503&token=[REDACTED]")
    assert client["attributes"]["error.type"] == "503"
    assert client["status"] == "ERROR"
    assert (
        cap.sample(
            "http_client_request_duration_seconds_count",
            http_request_method="GET",
            http_response_status_code="503",
            server_address="127.0.0.1",
            error_type="503",
        )
        == 1
    )


@pytest.mark.parametrize(
    ("route", "error"),
    [("/refused-httpx", "ConnectError"), ("/refused-requests", "ConnectionError")],
)
def test_connection_errors_give_error_type_and_reach_the_caller_unchanged(
    servers: tuple[Capture, str, str], route: str, error: str
) -> None:
    cap, up, _down = servers
    assert httpx.get(up + route, timeout=10).json() == {"caught": error}
    [server] = _by_kind(cap, "SERVER")
    [client] = [s for s in _by_kind(cap, "CLIENT") if s["parent"] == server["context"]]
    assert client["attributes"]["error.type"] == error
    assert "http.response.status_code" not in client["attributes"]
    assert client["status"] == "ERROR"
    assert [e["name"] for e in client["events"]] == ["exception"]
    labels = {"http_request_method": "GET", "http_response_status_code": ""}
    assert (
        cap.sample(
            "http_client_request_duration_seconds_count",
            **labels,
            server_address="127.0.0.1",
            error_type=error,
        )
        == 1
    )


def test_redact_url() -> None:
    url = "https://bob:pw@api.example.com:8443/p?q=1&api_key=abc&Signature=x&page=2#frag"
    assert httpclient.redact_url(url) == (
        "https://[REDACTED]:[REDACTED]@api.example.com:8443/p"
        "?q=1&api_key=[REDACTED]&Signature=[REDACTED]&page=2"
    )


def test_settings_turn_clients_off_and_suppressed_calls_are_left_alone(
    tripod_capture: Capture,
) -> None:
    httpclient.uninstrument()
    tripod_capture.init(instrument_httpx=False, instrument_requests=False)
    down = Server(Starlette(routes=[Route("/echo", echo)]))
    try:
        assert "traceparent" not in httpx.get(down.url + "/echo", timeout=10).json()
        assert tripod_capture.samples("http_client_request_duration_seconds_count") == []
        assert tripod.instrument_httpx() is True
        with tripod.span("parent"):
            assert "traceparent" in httpx.get(down.url + "/echo", timeout=10).json()
    finally:
        down.stop()
        httpclient.uninstrument()
    assert [s["kind"] for s in tripod_capture.spans_as_dicts()] == ["CLIENT", "INTERNAL"]
