"""JSON log lines: fields, trace/correlation context, bound fields, exceptions, redaction."""

from __future__ import annotations

import io
import logging
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tripod
from tripod.sdk import logs, propagation
from tripod.testing import Capture

ROOT = Path(__file__).resolve().parents[2]
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


# --- access lines are queued and written in batches, never lost on a normal exit -----------

_ACCESS_SCRIPT = """
import io, signal, sys, time
import tripod

def app(environ, start_response):
    environ["tripod.route"] = "/orders/{id}"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]

tripod.init(service_name="exit-app", otlp_endpoint="")
wrapped = tripod.instrument(app)
for i in range(3):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/orders/{i}", "wsgi.input": io.BytesIO()}
    body = wrapped(environ, lambda status, headers, exc_info=None: None)
    list(body)
    body.close()
MODE
"""


def _access_lines(stderr: str) -> list[dict[str, object]]:
    return [r for r in logs.iter_json_lines(stderr) if r.get("logger") == "tripod.access"]


def _run_access_script(mode: str) -> subprocess.Popen[str]:
    script = _ACCESS_SCRIPT.replace("MODE", mode)
    env = {"PYTHONPATH": str(ROOT / "src"), "TRIPOD_MULTIPROC_DIR": "off"}
    return subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["pass", "sys.exit(0)"])
def test_queued_access_lines_are_written_on_normal_exit(mode: str) -> None:
    proc = _run_access_script(mode)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = _access_lines(err)
    assert [line["http.route"] for line in lines] == ["/orders/{id}"] * 3, err


def test_queued_access_lines_are_written_before_a_default_sigterm_kills() -> None:
    proc = _run_access_script("print('ready', flush=True)\ntime.sleep(60)")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM
    assert len(_access_lines(err)) == 3, err


def test_queued_access_lines_reach_the_stream_without_a_flush_call() -> None:
    """The flusher thread writes them (within ACCESS_FLUSH_INTERVAL) with no other trigger."""
    stream = io.StringIO()
    cap = Capture(service_name="flusher").start()
    logs.set_stream(stream)

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("204 No Content", [])
        return []

    wrapped = tripod.instrument(app)
    body: Any = wrapped(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "wsgi.input": io.BytesIO()},
        lambda status, headers, exc_info=None: None,
    )
    body.close()
    deadline = time.monotonic() + 30
    while '"logger":"tripod.access"' not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert '"http.response.status_code":204' in stream.getvalue()
    cap.stop()


def test_queued_access_lines_keep_their_order_with_other_records() -> None:
    cap = Capture(service_name="order").start()

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    wrapped = tripod.instrument(app)
    body: Any = wrapped(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/first", "wsgi.input": io.BytesIO()},
        lambda status, headers, exc_info=None: None,
    )
    body.close()
    tripod.get_logger("app").warning("after the request")
    assert [r["logger"] for r in cap.records()] == ["tripod.access", "app"]
    cap.stop()
