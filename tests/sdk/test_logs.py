"""JSON log lines: fields, trace/correlation context, bound fields, exceptions, redaction."""

from __future__ import annotations

import logging
import re

import pytest

import tripod
from tripod.sdk import logs, propagation
from tripod.testing import Capture

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_json_line_fields() -> None:
    cap = Capture(service_name="logsvc").start()
    tripod.get_logger("app.orders").info("placed %s", "order-1", extra={"order_id": 7})
    [line] = cap.records()
    assert RFC3339_UTC.match(line["timestamp"]), line["timestamp"]
    assert line["level"] == "INFO"
    assert line["logger"] == "app.orders"
    assert line["message"] == "placed order-1"
    assert line["service.name"] == "logsvc"
    assert line["order_id"] == 7
    assert "trace_id" not in line
    assert "correlation_id" not in line
    assert list(line)[:5] == ["timestamp", "level", "logger", "message", "service.name"]


def test_trace_and_correlation_context(tripod_capture: Capture) -> None:
    cap = tripod_capture
    token = propagation.set_correlation_id("corr-123")
    try:
        with tripod.span("work") as span:
            tripod.get_logger("t").warning("inside")
    finally:
        propagation.reset_correlation_id(token)
    tripod.get_logger("t").warning("outside")
    inside, outside = cap.records()
    ctx = span.get_span_context()
    assert inside["trace_id"] == format(ctx.trace_id, "032x")
    assert inside["span_id"] == format(ctx.span_id, "016x")
    assert inside["correlation_id"] == "corr-123"
    assert "trace_id" not in outside
    assert "correlation_id" not in outside


def test_bound_fields_follow_the_context(tripod_capture: Capture) -> None:
    cap = tripod_capture
    log = tripod.get_logger("b")
    with tripod.bound(tenant="acme"):
        tripod.bind(user_id=42)
        log.info("one")
        tripod.unbind("user_id")
        log.info("two")
    log.info("three")
    one, two, three = cap.records()
    assert (one["tenant"], one["user_id"]) == ("acme", 42)
    assert two["tenant"] == "acme"
    assert "user_id" not in two
    assert "tenant" not in three


def test_exception_fields(tripod_capture: Capture) -> None:
    cap = tripod_capture
    try:
        msg = "card declined"
        raise ValueError(msg)
    except ValueError:
        tripod.get_logger("e").exception("payment failed")
    [line] = cap.records()
    assert line["level"] == "ERROR"
    assert line["exception.type"] == "ValueError"
    assert line["exception.message"] == "card declined"
    assert "Traceback (most recent call last)" in line["exception.stacktrace"]
    assert "raise ValueError(msg)" in line["exception.stacktrace"]


def test_redaction_by_key_and_bearer_values() -> None:
    cap = Capture(redact_keys="ssn,internal_note").start()
    log = tripod.get_logger("r")
    tripod.bind(session_token="abc")
    log.info(
        "calling with Authorization: Bearer eyJhbGciOi.payload.sig now",
        extra={
            "password": "hunter2",
            "db_passwd": "x",
            "Authorization": "Basic Zm9v",
            "headers": {"Cookie": "a=b", "accept": "json", "X-Api-Key": "k"},
            "ssn": "123-45-6789",
            "internal_note": "n",
            "note": "token is Bearer abc.def",
            "apikey": "k2",
            "client_secret": "s",
            "user": "ann",
        },
    )
    [line] = cap.records()
    for key in ("password", "db_passwd", "Authorization", "ssn", "internal_note", "apikey",
                "client_secret", "session_token"):  # fmt: skip
        assert line[key] == "[REDACTED]", key
    assert line["headers"] == {"Cookie": "[REDACTED]", "accept": "json", "X-Api-Key": "[REDACTED]"}
    assert line["message"] == "calling with Authorization: Bearer [REDACTED] now"
    assert line["note"] == "token is Bearer [REDACTED]"
    assert line["user"] == "ann"
    assert "hunter2" not in cap.log_text
    assert "eyJhbGciOi" not in cap.log_text


def test_console_format_is_readable() -> None:
    cap = Capture(log_format="console").start()
    with tripod.span("s"):
        tripod.get_logger("c").info("hello", extra={"k": "v", "token": "t"})
    text = cap.log_text
    assert not text.startswith("{")
    assert "INFO" in text
    assert "c: hello" in text
    assert "k=v" in text
    assert "token=[REDACTED]" in text
    assert "trace_id=" in text


def test_unserialisable_extra_does_not_break_logging(tripod_capture: Capture) -> None:
    cap = tripod_capture

    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    tripod.get_logger("u").info("odd", extra={"thing": Thing(), "raw": b"\x00"})
    [line] = cap.records()
    assert line["thing"] == "<thing>"


def test_structlog_chain_adds_the_same_fields() -> None:
    structlog = pytest.importorskip("structlog")
    import json

    cap = Capture(service_name="slog").start()
    out: list[str] = []

    def sink(_logger: object, _name: str, event: str) -> str:
        out.append(event)
        raise structlog.DropEvent

    structlog.configure(
        processors=[*logs.structlog_processors(), sink],
        logger_factory=structlog.ReturnLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    try:
        token = propagation.set_correlation_id("c-9")
        with tripod.span("s") as span:
            structlog.get_logger().info("charged", amount=3, password="p")
        propagation.reset_correlation_id(token)
    finally:
        structlog.reset_defaults()
    event = json.loads(out[0])
    assert event["message"] == "charged"
    assert event["level"] == "info"
    assert event["service.name"] == "slog"
    assert event["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert event["correlation_id"] == "c-9"
    assert event["password"] == "[REDACTED]"
    assert event["amount"] == 3
    assert event["timestamp"].endswith("Z")
    assert cap.records() == []


def test_records_below_level_cost_no_formatting() -> None:
    cap = Capture(log_level="error").start()
    calls = []

    class Spy:
        def __str__(self) -> str:
            calls.append(1)
            return "spy"

    tripod.get_logger("q").info("%s", Spy())
    assert calls == []
    assert cap.records() == []
    assert logging.getLogger().level == logging.ERROR
