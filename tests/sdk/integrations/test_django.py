"""The Django middleware, app and database wrapper on the example shop (Django's test clients,
a real SQLite file): the same telemetry as the WSGI/ASGI middleware, plus query spans."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tripod.testing import Capture

ROUTE = "/orders/<int:order_id>/"


@pytest.fixture(scope="module")
def django_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    db = tmp_path_factory.mktemp("django") / "shop.sqlite3"
    # Scoped to this module, so later tests (and the processes they start) do not inherit it;
    # Django itself stays configured for the rest of the session (it cannot be unset).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_SHOP_DB", str(db))
        patch.setenv("DJANGO_SETTINGS_MODULE", "examples.django_shop.settings")
        import django
        from django.core.management import call_command

        django.setup()
        from django.conf import settings

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # test clients' host
        call_command("migrate", run_syncdb=True, verbosity=0)
        yield
        from django.db import connections

        connections.close_all()


@pytest.fixture
def cap(django_setup: None) -> Iterator[Capture]:
    with Capture(service_name="django-test") as capture:
        yield capture


def _duration_counts(text: str) -> dict[tuple[str, str], float]:
    return {
        (s.labels["http_route"], s.labels["http_response_status_code"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "http_server_request_duration_seconds_count"
    }


def test_request_span_route_db_child_metrics_and_access_log(cap: Capture) -> None:
    from django.test import Client

    response = Client().get(
        "/orders/5/",
        headers={"X-Correlation-ID": "dj-1", "traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"},
    )
    assert response.status_code == 200
    assert response["X-Correlation-ID"] == "dj-1"
    spans = cap.spans_as_dicts()
    [server] = [s for s in spans if s["kind"] == "SERVER"]
    assert server["name"] == f"GET {ROUTE}"
    assert server["attributes"]["http.route"] == ROUTE
    assert server["attributes"]["url.path"] == "/orders/5/"
    assert server["attributes"]["correlation_id"] == "dj-1"
    assert server["context"]["trace_id"] == int("ab" * 16, 16)  # continued from traceparent
    db = [s for s in spans if s["kind"] == "CLIENT"]
    assert db, spans
    for span in db:
        assert span["parent"] == server["context"]
        assert span["attributes"]["db.system"] == "sqlite"
    texts = [s["attributes"]["db.query.text"] for s in db]
    raw = [t for t in texts if "COUNT(*)" in t]
    assert raw == ["SELECT COUNT(*) FROM shop_order WHERE status = ? AND id > ?"]
    assert any(t.startswith('SELECT "shop_order"') and t.endswith("LIMIT ?") for t in texts)
    assert all("'open'" not in t and "buyer5" not in t for t in texts)
    assert cap.sample(
        "db_client_operation_duration_seconds_count", db_system="sqlite", db_operation_name="SELECT"
    ) == len([t for t in texts if t.startswith("SELECT")])
    assert (
        cap.sample(
            "http_server_request_duration_seconds_count",
            http_request_method="GET",
            http_route=ROUTE,
            http_response_status_code="200",
        )
        == 1
    )
    [access] = [r for r in cap.records() if r.get("logger") == "tripod.access"]
    assert access["trace_id"] == "ab" * 16
    assert access["http.route"] == ROUTE
    assert access["correlation_id"] == "dj-1"
    [loaded] = [r for r in cap.records() if r.get("message") == "order loaded"]
    assert loaded["trace_id"] == "ab" * 16


def test_unmatched_404_and_errors(cap: Capture) -> None:
    from django.test import Client

    client = Client(raise_request_exception=False)
    assert client.get("/nothing/here").status_code == 404
    assert client.get("/orders/0/").status_code == 404  # matched, then Http404
    assert client.get("/boom").status_code == 500
    counts = _duration_counts(client.get("/metrics").content.decode())
    assert counts == {("__unmatched__", "404"): 1, (ROUTE, "404"): 1, ("/boom", "500"): 1}
    [boom] = [s for s in cap.spans_as_dicts() if s["name"] == "GET /boom"]
    assert boom["status"] == "ERROR"
    assert boom["attributes"]["error.type"] == "RuntimeError"
    assert [e["name"] for e in boom["events"]] == ["exception"]
    [missing] = [s for s in cap.spans_as_dicts() if s["attributes"].get("url.path") == "/orders/0/"]
    assert missing["status"] == "UNSET"
    assert "error.type" not in missing["attributes"]


def test_metrics_view_and_middleware_endpoint_render_the_same(cap: Capture) -> None:
    from django.test import Client, RequestFactory

    from tripod.sdk.integrations.django import metrics_view

    Client().get("/orders/6/")
    served = Client().get("/metrics")
    assert served.status_code == 200
    viewed = metrics_view(RequestFactory().get("/anywhere"))
    assert viewed["Content-Type"] == served["Content-Type"]
    assert _duration_counts(viewed.content.decode()) == _duration_counts(served.content.decode())
    assert metrics_view(RequestFactory().post("/anywhere")).status_code == 405
    # /metrics itself is not a request tripod times
    assert all(s["attributes"].get("url.path") != "/metrics" for s in cap.spans_as_dicts())


def test_streamed_response_finishes_when_closed(cap: Capture) -> None:
    from django.test import Client

    response = Client().get("/orders/export")
    assert response.streaming
    assert not [s for s in cap.spans_as_dicts() if s["kind"] == "SERVER"]  # still streaming
    body = b"".join(response.streaming_content)
    response.close()
    [server] = [s for s in cap.spans_as_dicts() if s["kind"] == "SERVER"]
    assert server["name"] == "GET /orders/export"
    assert body.count(b"\n") >= 1
    [query] = [s for s in cap.spans_as_dicts() if s["kind"] == "CLIENT"]
    assert query["parent"] == server["context"]
    assert (
        cap.sample(
            "http_server_request_duration_seconds_count",
            http_request_method="GET",
            http_route="/orders/export",
            http_response_status_code="200",
        )
        == 1
    )


def test_async_stack(cap: Capture) -> None:
    from django.test import AsyncClient

    async def run() -> Any:
        return await AsyncClient().get("/orders/7/", headers={"X-Correlation-ID": "dj-async"})

    response = asyncio.run(run())
    assert response.status_code == 200
    assert response["X-Correlation-ID"] == "dj-async"
    spans = cap.spans_as_dicts()
    [server] = [s for s in spans if s["kind"] == "SERVER"]
    assert server["name"] == f"GET {ROUTE}"
    assert any(s["kind"] == "CLIENT" and s["parent"] == server["context"] for s in spans)


def test_without_init_the_middleware_steps_aside(django_setup: None, tmp_path: Path) -> None:
    from django.test import Client

    import tripod

    tripod.shutdown()
    assert Client().get("/orders/8/").status_code == 200
    with Capture() as cap:
        assert cap.spans == []


def test_route_of_regex_and_root() -> None:
    from types import SimpleNamespace

    from tripod.sdk.integrations.django import route_of

    def req(route: str | None) -> Any:
        match = None if route is None else SimpleNamespace(route=route)
        return SimpleNamespace(resolver_match=match)

    assert route_of(req("api/items/<int:item_id>/")) == "/api/items/<int:item_id>/"
    assert route_of(req("^legacy/(?P<id>[0-9]+)/$")) == "/legacy/(?P<id>[0-9]+)/"
    assert route_of(req("")) == "/"
    assert route_of(req(None)) is None
