"""The ASGI middleware on real Starlette/FastAPI apps, driven in-process through httpx."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

import tripod
from tripod.sdk.integrations._http import normalize_method
from tripod.sdk.integrations.asgi import TripodASGIMiddleware
from tripod.testing import Capture


class OopsError(Exception):
    pass


async def item(request: Request) -> Response:
    return PlainTextResponse("item " + request.path_params["item_id"])


async def upload(request: Request) -> Response:
    body = await request.body()
    return PlainTextResponse("x" * len(body), status_code=201)


async def fail(request: Request) -> Response:
    raise OopsError("bad thing")


async def unavailable(request: Request) -> Response:
    return PlainTextResponse("down", status_code=503)


async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hi")
    await websocket.close()


def make_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/items/{item_id}", item),
            Route("/upload", upload, methods=["POST"]),
            Route("/fail", fail),
            Route("/unavailable", unavailable),
            WebSocketRoute("/ws", ws),
        ]
    )


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=True), base_url="http://test"
    )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def durations(text: str) -> list[Any]:
    return [
        s
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "http_server_request_duration_seconds_count"
    ]


def test_route_template_span_metrics_and_access_log() -> None:
    cap = Capture(service_name="asgi").start()
    app = tripod.instrument(make_app())

    async def go() -> tuple[httpx.Response, str]:
        async with client(app) as c:
            r = await c.get("/items/17", headers={"X-Correlation-ID": "c-1", "user-agent": "t/1"})
            return r, (await c.get("/metrics")).text

    response, scrape = run(go())
    assert response.text == "item 17"
    assert response.headers["x-correlation-id"] == "c-1"
    [span] = cap.spans
    assert span.name == "GET /items/{item_id}"
    assert span.kind.name == "SERVER"
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": "/items/17",
        "url.scheme": "http",
        "server.address": "test",
        "client.address": "127.0.0.1",
        "user_agent.original": "t/1",
        "network.protocol.version": "1.1",
        "correlation_id": "c-1",
        "http.route": "/items/{item_id}",
        "http.response.status_code": 200,
    }
    [sample] = durations(scrape)
    assert sample.labels == {"http_request_method": "GET", "http_route": "/items/{item_id}",
                             "http_response_status_code": "200"}  # fmt: skip
    [access] = [line for line in cap.records() if line["logger"] == "tripod.access"]
    assert access["trace_id"] == format(span.context.trace_id, "032x")
    assert access["span_id"] == format(span.context.span_id, "016x")
    assert access["correlation_id"] == "c-1"
    assert access["http.route"] == "/items/{item_id}"
    assert access["http.response.status_code"] == 200
    assert access["message"] == "GET /items/{item_id} 200"


def test_a_thousand_ids_make_one_series() -> None:
    Capture(access_log=False).start()
    app = tripod.instrument(make_app())

    async def go() -> str:
        async with client(app) as c:
            for i in range(1000):
                assert (await c.get(f"/items/{i}")).status_code == 200
            for i in range(50):
                assert (await c.get(f"/nope/{i}")).status_code == 404
            return (await c.get("/metrics")).text

    samples = durations(run(go()))
    assert {s.labels["http_route"]: s.value for s in samples} == {
        "/items/{item_id}": 1000.0,
        "__unmatched__": 50.0,
    }


def test_body_sizes_errors_and_unknown_methods(tripod_capture: Capture) -> None:
    cap = tripod_capture
    app = tripod.instrument(make_app())

    async def go() -> str:
        async with client(app) as c:
            assert (await c.post("/upload", content=b"a" * 300)).status_code == 201
            assert (await c.get("/unavailable")).status_code == 503
            assert (await c.request("PURGE", "/items/1")).status_code == 405
            with pytest.raises(OopsError, match="bad thing"):
                await c.get("/fail")
            return (await c.get("/metrics")).text

    scrape = run(go())
    sizes = {
        (s.name, s.labels["http_route"]): s.value
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
        if s.name.endswith("body_size_bytes_sum")
    }
    assert sizes[("http_server_request_body_size_bytes_sum", "/upload")] == 300
    assert sizes[("http_server_response_body_size_bytes_sum", "/upload")] == 300
    spans = {s.attributes["url.path"]: s for s in cap.spans if s.attributes}
    assert spans["/unavailable"].status.status_code.name == "ERROR"
    assert spans["/unavailable"].attributes["error.type"] == "503"  # type: ignore[index]
    failed = spans["/fail"]
    assert failed.status.status_code.name == "ERROR"
    assert failed.attributes["error.type"] == "OopsError"  # type: ignore[index]
    assert failed.attributes["http.response.status_code"] == 500  # type: ignore[index]
    assert [e.name for e in failed.events] == ["exception"]
    purge = spans["/items/1"]
    assert purge.attributes["http.request.method"] == "_OTHER"  # type: ignore[index]
    assert purge.attributes["http.request.method_original"] == "PURGE"  # type: ignore[index]
    assert purge.name == "_OTHER /items/{item_id}"
    methods = {s.labels["http_request_method"] for s in durations(scrape)}
    assert methods == {"POST", "GET", "_OTHER"}


def test_method_normalization() -> None:
    assert normalize_method("GET") == "GET"
    assert normalize_method("get") == "GET"
    assert normalize_method("BREW") == "_OTHER"


def test_invalid_correlation_ids_are_replaced_and_request_id_accepted() -> None:
    Capture(access_log=False).start()
    app = tripod.instrument(make_app())

    async def go() -> list[httpx.Response]:
        async with client(app) as c:
            return [
                await c.get("/items/1", headers={"X-Correlation-ID": 'evil"\n{json}'}),
                await c.get("/items/1", headers={"X-Request-ID": "req-7"}),
                await c.get("/items/1"),
            ]

    evil, request_id, none = run(go())
    assert len(evil.headers["x-correlation-id"]) == 32
    assert request_id.headers["x-correlation-id"] == "req-7"
    assert len(none.headers["x-correlation-id"]) == 32


def test_custom_correlation_header() -> None:
    Capture(correlation_header="X-Trace-Tag").start()
    app = tripod.instrument(make_app())

    async def go() -> httpx.Response:
        async with client(app) as c:
            return await c.get("/items/1", headers={"X-Trace-Tag": "tag-1"})

    assert run(go()).headers["x-trace-tag"] == "tag-1"


def test_incoming_traceparent_and_baggage(tripod_capture: Capture) -> None:
    cap = tripod_capture
    app = tripod.instrument(make_app())
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    async def go() -> None:
        async with client(app) as c:
            await c.get("/items/1", headers={"traceparent": parent, "baggage": "tenant=acme"})

    run(go())
    [span] = cap.spans
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    assert span.parent.is_remote


@pytest.mark.usefixtures("tripod_capture")
def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def raw(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})

    wrapped = tripod.instrument(raw)
    assert isinstance(wrapped, TripodASGIMiddleware)

    async def go() -> None:
        messages = [{"type": "lifespan.startup"}]

        async def receive() -> dict[str, Any]:
            return messages.pop()

        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await wrapped({"type": "lifespan"}, receive, send)
        assert sent == [{"type": "lifespan.startup.complete"}]
        await wrapped({"type": "websocket", "path": "/ws", "headers": []}, receive, send)

    run(go())
    assert seen == ["lifespan", "websocket"]


def test_fastapi_app_is_instrumented_in_place_with_one_server_span() -> None:
    cap = Capture(access_log=False).start()
    app = FastAPI()
    same = tripod.instrument(app)
    assert same is app

    @app.get("/users/{user_id}")  # routes added after instrument() still count
    async def user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    async def go() -> None:
        async with client(app) as c:
            assert (await c.get("/users/3")).json() == {"id": 3}

    run(go())
    assert [s.name for s in cap.spans] == ["GET /users/{user_id}"]
    assert tripod.instrument(app) is app  # twice: no second layer


def test_metrics_endpoint_path_is_configurable() -> None:
    Capture(metrics_path="/internal/metrics").start()
    app = tripod.instrument(make_app())

    async def go() -> tuple[int, int]:
        async with client(app) as c:
            return (
                (await c.get("/internal/metrics")).status_code,
                (await c.get("/metrics")).status_code,
            )

    assert run(go()) == (200, 404)


def test_a_reused_response_does_not_collect_headers() -> None:
    Capture(access_log=False).start()
    shared = PlainTextResponse("same object every time")

    async def cached(request: Request) -> Response:
        return shared

    app = tripod.instrument(Starlette(routes=[Route("/cached", cached)]))

    async def go() -> list[httpx.Response]:
        async with client(app) as c:
            return [await c.get("/cached") for _ in range(3)]

    for response in run(go()):
        assert len(response.headers.get_list("x-correlation-id")) == 1
    assert all(name.lower() != b"x-correlation-id" for name, _ in shared.raw_headers)


def test_unsampled_requests_keep_ids_in_logs_but_export_nothing() -> None:
    cap = Capture(traces_sampler="traceidratio", traces_sampler_arg=0.0).start()
    app = tripod.instrument(make_app())

    async def go() -> str:
        async with client(app) as c:
            await c.get("/items/1")
            return (
                await c.get("/metrics", headers={"Accept": "application/openmetrics-text"})
            ).text

    scrape = run(go())
    assert cap.spans == []
    [access] = [line for line in cap.records() if line["logger"] == "tripod.access"]
    assert len(access["trace_id"]) == 32
    assert "trace_id=" not in scrape  # exemplars only for sampled requests
