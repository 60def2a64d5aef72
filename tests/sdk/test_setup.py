"""tripod.init/shutdown: configuration errors, re-initialisation, OTEL_SDK_DISABLED, bounds."""

from __future__ import annotations

import logging
import sys
import time

import pytest
from starlette.applications import Starlette

import tripod
from tripod.sdk import logs, tracing
from tripod.sdk.logs import TripodHandler
from tripod.testing import Capture


def tripod_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, TripodHandler)]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"traces_sampler_arg": 2}, "traces_sampler_arg=2 is not valid"),
        ({"traces_sampler": "sometimes"}, "expected one of always_on"),
        ({"otlp_endpoint": "collector:4318"}, "expected an http(s) URL"),
        ({"log_level": "loud"}, "expected one of debug"),
        ({"service_nmae": "x"}, "did you mean 'service_name'"),
    ],
)
def test_bad_settings_fail_at_init_with_a_clear_error(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(tripod.ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tripod.init(**settings)
    assert tripod_handlers() == []


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "lots")
    with pytest.raises(tripod.ConfigError, match="OTEL_TRACES_SAMPLER_ARG='lots'"):
        tripod.init()


def test_grpc_without_the_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.grpc.trace_exporter", None)
    with pytest.raises(tripod.ConfigError, match=r"pip install 'tripod\[grpc\]'"):
        tripod.init(otlp_endpoint="http://127.0.0.1:4317", otlp_protocol="grpc")
    assert tracing.current_tracer() is None


def test_init_twice_replaces_the_previous_setup() -> None:
    tripod.init(service_name="first")
    tripod.init(service_name="second")
    assert len(tripod_handlers()) == 1
    cap = Capture(service_name="third").start()
    logging.getLogger("x").warning("hello")
    assert cap.records()[0]["service.name"] == "third"
    with tripod.span("s"):
        pass
    [span] = cap.spans
    assert span.resource.attributes["service.name"] == "third"
    tripod.shutdown()
    tripod.shutdown()
    assert tripod_handlers() == []
    assert tracing.current_tracer() is None


def test_resource_attributes() -> None:
    cap = Capture(
        service_name="svc",
        service_version="1.2.3",
        environment="staging",
        resource_attributes="team=payments",
    ).start()
    with tripod.span("s"):
        pass
    attrs = cap.spans[0].resource.attributes
    assert attrs["service.name"] == "svc"
    assert attrs["service.version"] == "1.2.3"
    assert attrs["deployment.environment.name"] == "staging"
    assert attrs["team"] == "payments"
    assert attrs["telemetry.sdk.language"] == "python"
    assert attrs["process.runtime.name"] == "cpython"
    for key in ("host.name", "process.pid", "process.runtime.version"):
        assert key in attrs


def test_sdk_disabled_installs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    settings = tripod.init(service_name="off")
    assert settings.sdk_disabled
    assert tripod_handlers() == []
    assert tracing.current_tracer() is None
    app = Starlette()
    assert tripod.instrument(app) is app
    assert not hasattr(app, "_tripod_instrumented")
    with tripod.span("nothing") as span:
        assert not span.is_recording()

    @tripod.traced
    def f(x: int) -> int:
        return x + 1

    assert f(1) == 2


def test_instrument_before_init_leaves_the_app_alone() -> None:
    app = Starlette()
    assert tripod.instrument(app) is app
    assert not hasattr(app, "_tripod_instrumented")


def test_shutdown_is_bounded_with_a_dead_collector() -> None:
    from tests.helpers.procs import free_port

    tripod.init(
        otlp_endpoint=f"http://127.0.0.1:{free_port()}", shutdown_timeout=1.0, logs_enabled=False
    )
    for i in range(3000):
        with tripod.span(f"s{i}"):
            pass
    start = time.monotonic()
    tripod.shutdown()
    assert time.monotonic() - start < 1.0 + 0.5


def test_set_log_level_at_runtime() -> None:
    cap = Capture(log_level="warning").start()
    log = tripod.get_logger("lvl")
    log.info("hidden")
    tripod.set_log_level("debug")
    log.debug("shown")
    assert [line["message"] for line in cap.records()] == ["shown"]
    with pytest.raises(tripod.ConfigError, match="not one of"):
        tripod.set_log_level("chatty")


def test_logs_disabled_keeps_root_logger_untouched() -> None:
    tripod.init(logs_enabled=False)
    assert tripod_handlers() == []
    assert logs._handler is None
