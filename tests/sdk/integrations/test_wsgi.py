"""The WSGI middleware on a real Flask app (werkzeug's test client) and a bare WSGI callable."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from flask import Flask, Response, abort, stream_with_context
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from prometheus_client.parser import text_string_to_metric_families

import tripod
from tripod.sdk.integrations.wsgi import ROUTE_KEY
from tripod.testing import Capture


class OopsError(Exception):
    pass


def make_app() -> Flask:
    app = Flask("t")

    @app.get("/orders/<int:order_id>")
    def order(order_id: int) -> str:
        if order_id == 0:
            abort(404)
        return f"order {order_id}"

    @app.get("/fail")
    def fail() -> str:
        raise OopsError("nope")

    @app.get("/stream")
    def stream() -> Response:
        def gen() -> Iterator[str]:
            yield "a" * 10
            yield "b" * 5

        return Response(stream_with_context(gen()))

    return app


def series(app: Flask) -> dict[tuple[str, str], float]:
    text = app.test_client().get("/metrics").text
    return {
        (s.labels["http_route"], s.labels["http_response_status_code"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "http_server_request_duration_seconds_count"
    }


def test_flask_route_template_span_metrics_logs() -> None:
    cap = Capture(service_name="wsgi").start()
    app = make_app()
    assert tripod.instrument(app) is app
    c = app.test_client()
    response = c.get("/orders/12", headers={"X-Correlation-ID": "w-1"})
    assert response.text == "order 12"
    assert response.headers["X-Correlation-ID"] == "w-1"
    [span] = cap.spans
    assert span.name == "GET /orders/<int:order_id>"
    attrs = dict(span.attributes or {})
    assert attrs["http.route"] == "/orders/<int:order_id>"
    assert attrs["url.path"] == "/orders/12"
    assert attrs["http.response.status_code"] == 200
    assert attrs["correlation_id"] == "w-1"
    [access] = [line for line in cap.records() if line["logger"] == "tripod.access"]
    assert access["trace_id"] == format(span.context.trace_id, "032x")
    assert access["correlation_id"] == "w-1"
    assert series(app) == {("/orders/<int:order_id>", "200"): 1.0}


def test_flask_cardinality_404_and_errors() -> None:
    cap = Capture(access_log=False).start()
    app = tripod.instrument(make_app())
    app.config["PROPAGATE_EXCEPTIONS"] = False
    c = app.test_client()
    for i in range(1, 1001):
        assert c.get(f"/orders/{i}").text == f"order {i}"
    for path, status in (("/orders/0", 404), ("/no/such/path", 404), ("/fail", 500)):
        response = c.get(path)
        assert response.status_code == status
        response.close()  # what a WSGI server does with the body; the request ends here
    assert series(app) == {
        ("/orders/<int:order_id>", "200"): 1000.0,
        ("/orders/<int:order_id>", "404"): 1.0,
        ("__unmatched__", "404"): 1.0,
        ("/fail", "500"): 1.0,
    }
    [failed] = [s for s in cap.spans if s.name == "GET /fail"]
    assert failed.status.status_code.name == "ERROR"
    assert (failed.attributes or {})["error.type"] == "OopsError"
    assert [e.name for e in failed.events] == ["exception"]


@pytest.mark.usefixtures("tripod_capture")
def test_exceptions_propagate_unchanged_when_flask_propagates() -> None:
    app = tripod.instrument(make_app())
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(OopsError, match="nope"):
        app.test_client().get("/fail")


@pytest.mark.usefixtures("tripod_capture")
def test_streamed_body_is_sized_when_closed() -> None:
    app = tripod.instrument(make_app())
    assert app.test_client().get("/stream").text == "a" * 10 + "b" * 5
    text = app.test_client().get("/metrics").text
    [size] = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "http_server_response_body_size_bytes_sum"
    ]
    assert size == 15


def test_plain_wsgi_callable_is_wrapped() -> None:
    cap = Capture(access_log=False).start()

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ[ROUTE_KEY] = "/hello/{name}"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hi"]

    wrapped = tripod.instrument(app)
    assert wrapped is not app
    headers: list[tuple[str, str]] = []

    def start_response(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None) -> Any:
        headers.extend(hdrs)

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/hello/bob", "wsgi.url_scheme": "http",
               "HTTP_X_REQUEST_ID": "r-1", "SERVER_PROTOCOL": "HTTP/1.1"}  # fmt: skip
    body = wrapped(environ, start_response)
    assert list(body) == [b"hi"]
    body.close()  # type: ignore[attr-defined]
    assert ("X-Correlation-ID", "r-1") in headers
    [span] = cap.spans
    assert span.name == "GET /hello/{name}"


def test_handler_sees_server_span_and_baggage_with_correlation_id() -> None:
    cap = Capture(access_log=False).start()
    app = make_app()
    seen: dict[str, Any] = {}

    @app.get("/ctx")
    def ctx() -> str:
        seen["baggage"] = dict(baggage.get_all())
        seen["span"] = trace.get_current_span()
        return "ok"

    tripod.instrument(app)
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers = {"traceparent": parent, "baggage": "tenant=acme", "X-Correlation-ID": "c-9"}
    before = otel_context.get_current()
    assert app.test_client().get("/ctx", headers=headers).text == "ok"
    assert otel_context.get_current() == before  # the request's context was left
    assert seen["baggage"] == {"tenant": "acme", "correlation_id": "c-9"}
    [span] = cap.spans
    assert seen["span"].get_span_context() == span.context
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    assert span.name == "GET /ctx"
