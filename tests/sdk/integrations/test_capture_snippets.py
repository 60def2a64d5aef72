"""The ``tripod_capture`` snippets of docs/integrations.md, one per integration, run as written
(plus the setup a user's project would have): a user's own test sees the spans, metric samples
and log records that Django, Celery, SQLAlchemy and the outgoing HTTP clients produced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, create_engine, text

import tripod
from tests.helpers.otlp_receiver import HeaderRecorder
from tests.sdk.integrations.test_django import django_setup
from tripod.sdk.integrations import instrument_engine
from tripod.testing import Capture

__all__ = ["django_setup"]  # the fixture, shared with test_django.py

log = tripod.get_logger("shop")


# --- Django ------------------------------------------------------------------------------------
@pytest.mark.usefixtures("django_setup")
def test_django_order_page(tripod_capture: Capture) -> None:
    from django.test import Client

    assert Client().get("/orders/5/").status_code == 200
    [server] = [s for s in tripod_capture.spans_as_dicts() if s["kind"] == "SERVER"]
    assert server["attributes"]["http.route"] == "/orders/<int:order_id>/"
    assert tripod_capture.sample(
        "http_server_request_duration_seconds_count", http_request_method="GET",
        http_route="/orders/<int:order_id>/", http_response_status_code="200",
    ) == 1  # fmt: skip
    [line] = [r for r in tripod_capture.records() if r["message"] == "order loaded"]
    assert line["trace_id"] == f"{server['context']['trace_id']:032x}"
    queries = [s for s in tripod_capture.spans_as_dicts() if s["kind"] == "CLIENT"]
    assert all(s["parent"] == server["context"] for s in queries)
    assert "buyer5" not in str([s["attributes"]["db.query.text"] for s in queries])


# --- Celery ------------------------------------------------------------------------------------
def _celery_add() -> object:
    from celery import Celery

    app = Celery("proj", broker="memory://")

    @app.task(name="proj.tasks.add")  # the name Celery gives add in proj/tasks.py  # type: ignore[misc]
    def add(x: int, y: int) -> int:
        log.info("adding")
        return x + y

    return add


def test_celery_add(tripod_capture: Capture) -> None:
    add = _celery_add()
    assert add.apply(args=(2, 3)).get() == 5  # type: ignore[attr-defined]
    [span] = [s for s in tripod_capture.spans_as_dicts() if s["name"].endswith("add process")]
    assert span["attributes"]["celery.task.outcome"] == "success"
    assert tripod_capture.sample(
        "celery_task_duration_seconds_count", task="proj.tasks.add", outcome="success"
    ) == 1  # fmt: skip
    [line] = [r for r in tripod_capture.records() if r["message"] == "adding"]
    assert line["trace_id"] == f"{span['context']['trace_id']:032x}"


# --- SQLAlchemy --------------------------------------------------------------------------------
@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = instrument_engine(create_engine(f"sqlite:///{tmp_path / 'shop.db'}"))
    with made.begin() as conn:
        conn.execute(text("CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT)"))
        conn.execute(text("INSERT INTO orders VALUES (7, 'bob@example.com')"))
    yield made
    made.dispose()


def load_order(engine: Engine, order_id: int) -> str:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM orders WHERE id = :id"), {"id": order_id}).one()
    log.info("order loaded", extra={"order_id": order_id})
    return str(row.email)


def test_order_query(tripod_capture: Capture, engine: Engine) -> None:
    load_order(engine, 7)
    [span] = [s for s in tripod_capture.spans_as_dicts() if s["name"] == "SELECT orders"]
    assert span["attributes"]["db.query.text"] == "SELECT * FROM orders WHERE id = ?"
    assert tripod_capture.sample(
        "db_client_operation_duration_seconds_count", db_system="sqlite", db_operation_name="SELECT"
    ) == 1  # fmt: skip
    [line] = [r for r in tripod_capture.records() if r["message"] == "order loaded"]
    assert line["order_id"] == 7


# --- outgoing HTTP -----------------------------------------------------------------------------
@pytest.fixture
def payments() -> Iterator[str]:
    with HeaderRecorder() as server:
        yield server.url


def charge(base_url: str) -> int:
    with tripod.span("checkout"):
        response = requests.get(f"{base_url}/charge", timeout=5)
        log.info("charged", extra={"status": response.status_code})
    return response.status_code


def test_charge_calls_payments(tripod_capture: Capture, payments: str) -> None:
    assert charge(payments) == 200
    spans = {s["name"]: s for s in tripod_capture.spans_as_dicts()}
    assert spans["GET"]["kind"] == "CLIENT"
    assert spans["GET"]["parent"] == spans["checkout"]["context"]
    assert spans["GET"]["attributes"]["http.response.status_code"] == 200
    assert tripod_capture.sample(
        "http_client_request_duration_seconds_count", http_request_method="GET",
        http_response_status_code="200", server_address="127.0.0.1", error_type="",
    ) == 1  # fmt: skip
    [line] = [r for r in tripod_capture.records() if r["message"] == "charged"]
    assert line["span_id"] == f"{spans['checkout']['context']['span_id']:016x}"
