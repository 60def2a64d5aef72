"""Start-up: ``import tripod`` and ``tripod.init()`` import no library the app did not import,
and an integration still activates when its library is imported after ``init()``.

Each check runs in a fresh interpreter (``sys.modules`` of this test process is full already).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import pytest
from opentelemetry.sdk.resources import Resource

import tripod
import tripod.sdk
from tests.helpers.otlp_receiver import HeaderRecorder
from tripod.config import PARAMS, Param, Settings, load_settings
from tripod.sdk import tracing

#: Libraries the request path does not need; none may be imported on tripod's behalf. The
#: second line: standard modules only some paths need (the multi-process directory, entry-point
#: scans); the third: tripod's own modules that
#: ``init()`` does not need (helpers, health checks, HTTP clients, /metrics serving and text,
#: multi-process sharing), imported on first use.
NOT_IMPORTED = (
    "requests", "httpx", "urllib3", "starlette", "flask", "celery", "structlog", "asyncio",
    "http.server", "prometheus_client", "google.protobuf", "opentelemetry.sdk._logs",
    "opentelemetry.exporter",
    "pathlib", "shutil", "tempfile", "importlib.metadata",
    "difflib", "wsgiref",
    "tripod.sdk.helpers", "tripod.sdk.health", "tripod.sdk.integrations.httpclient",
    "tripod.sdk.metrics._endpoint", "tripod.sdk.metrics._exposition",
    "tripod.sdk.metrics._multiprocess",
)  # fmt: skip


def run(code: str, **env: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; its last stdout line is JSON."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": "/usr/bin:/bin", "TRIPOD_SHUTDOWN_TIMEOUT": "1", **env},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


PROBE = f"""
    import json, sys
    import tripod
    after_import = [m for m in {NOT_IMPORTED!r} if m in sys.modules]
    tripod.init(service_name="startup")
    after_init = [m for m in {NOT_IMPORTED!r} if m in sys.modules]
    print(json.dumps({{"import": after_import, "init": after_init}}))
"""


def test_import_and_init_import_no_unused_library() -> None:
    assert run(PROBE) == {"import": [], "init": []}


def test_init_with_an_endpoint_imports_no_unused_library() -> None:
    found = run(PROBE, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert found == {"import": [], "init": []}


def test_otel_propagators_setting_costs_no_entry_point_scan() -> None:
    """With ``OTEL_PROPAGATORS`` set, OpenTelemetry would scan every distribution's entry points
    when ``opentelemetry.propagate`` is imported; tripod replaces that propagator in ``init()``,
    so the scan is skipped, the variable stays as it was, and W3C headers are still injected."""
    found = run(
        """
        import json, os, sys
        import tripod
        from opentelemetry import propagate
        tripod.init(service_name="startup")
        headers = {}
        with tripod.span("outgoing"):
            propagate.inject(headers)
        print(json.dumps({"scanned": "importlib.metadata" in sys.modules,
                          "env": os.environ["OTEL_PROPAGATORS"],
                          "traceparent": "traceparent" in headers}))
        """,
        OTEL_PROPAGATORS="tracecontext,baggage",
    )
    assert found == {"scanned": False, "env": "tracecontext,baggage", "traceparent": True}


def test_requests_imported_after_init_gets_client_spans() -> None:
    with HeaderRecorder() as downstream:
        found = run(f"""
            import json, sys
            import tripod
            from tripod.testing import Capture
            cap = Capture(service_name="late").start()
            assert "requests" not in sys.modules
            import requests
            requests.get("{downstream.url}/late")
            spans = [(s.name, s.kind.name) for s in cap.spans]
            print(json.dumps({{"spans": spans}}))
        """)
        seen = downstream.requests
    assert found["spans"] == [["GET", "CLIENT"]]
    assert len(seen) == 1
    assert "traceparent" in seen[0]


def test_every_public_name_resolves_to_its_module_object() -> None:
    """The names imported on first use are the very functions of their modules, through
    ``tripod``, ``tripod.sdk`` and ``from ... import``; each module comes only when asked."""
    found = run("""
        import importlib, json, sys
        import tripod
        import tripod.sdk
        before = "tripod.sdk.helpers" in sys.modules
        from tripod import counted
        bad = []
        for name in tripod.__all__:
            value = getattr(tripod, name)
            if name in tripod.sdk._LAZY:
                module = importlib.import_module(tripod.sdk._LAZY[name])
                if getattr(module, name) is not value or getattr(tripod.sdk, name) is not value:
                    bad.append(name)
        missing = sorted(set(tripod.__all__) - set(dir(tripod)))
        from tripod.sdk import health  # a submodule, not a lazy name
        from tripod.sdk.metrics import MetricsServer, asgi_app, wsgi_app
        print(json.dumps({"before": before, "counted": counted is tripod.counted, "bad": bad,
                          "missing": missing, "health": health.__name__,
                          "server": MetricsServer.__name__}))
    """)
    assert found == {
        "before": False,
        "counted": True,
        "bad": [],
        "missing": [],
        "health": "tripod.sdk.health",
        "server": "MetricsServer",
    }
    assert not hasattr(tripod, "no_such_name")  # AttributeError, not another exception
    assert not hasattr(tripod.sdk, "no_such_name")


def test_lazy_metrics_endpoint_serves_metrics() -> None:
    """``metrics.wsgi_app`` builds its app on the first scrape and answers like before."""
    found = run("""
        import json
        import tripod
        from tripod.sdk import metrics
        tripod.init(service_name="lazy")
        tripod.counter("jobs", "Jobs.").inc()
        seen = {}
        body = b"".join(metrics.wsgi_app(
            {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "HTTP_ACCEPT": "text/plain"},
            lambda status, headers: seen.update(status=status, headers=dict(headers)),
        ))
        print(json.dumps({"status": seen["status"], "line": "jobs_total 1.0" in body.decode()}))
    """)
    assert found == {"status": "200 OK", "line": True}


def test_resource_matches_the_sdk_resource_create(monkeypatch: pytest.MonkeyPatch) -> None:
    """The detectors run inline give what ``Resource.create()`` gives (its thread pool aside),
    ``OTEL_RESOURCE_ATTRIBUTES`` included; tripod's own attributes win over it."""
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=payments,service.name=from-env")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", raising=False)
    settings = load_settings({"service_name": "checkout", "environment": "prod"}, pyproject=False)
    ours = tracing.build_resource(settings)
    monkeypatch.setenv("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "otel")  # the SDK's own path
    theirs = tracing.build_resource(settings)
    assert ours == theirs
    assert ours.attributes["team"] == "payments"
    assert ours.attributes["service.name"] == "checkout"
    assert ours.attributes["telemetry.sdk.name"] == "opentelemetry"
    assert "service.instance.id" in ours.attributes
    assert isinstance(theirs, Resource)


def test_settings_and_params_behave_as_frozen_dataclasses() -> None:
    """Their ``__init__``/``__repr__``/``__eq__``/``__hash__`` are written out, not generated;
    what a dataclass offers still holds."""
    settings = load_settings({"service_name": "records"}, pyproject=False)
    changed = dataclasses.replace(settings, instrument_httpx=False)
    assert changed.instrument_httpx is False
    assert settings.instrument_httpx is True
    assert changed != settings
    assert dataclasses.replace(settings) == settings
    assert dataclasses.asdict(settings)["service_name"] == "records"
    assert repr(settings).startswith("Settings(service_name='records', service_version=None,")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.service_name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(settings)  # holds dicts, as before
    with pytest.raises(TypeError, match="missing 'service_version'"):
        Settings(service_name="x")
    with pytest.raises(TypeError, match="unexpected or repeated argument 'nope'"):
        dataclasses.replace(settings, nope=1)  # type: ignore[call-arg]
    param = Param("x", ("X",), 1, int, "doc")
    assert param == Param(name="x", env=("X",), default=1, parse=int, doc="doc")
    assert hash(param) == hash(Param("x", ("X",), 1, int, "doc"))
    assert param != PARAMS[0]
    assert [f.name for f in dataclasses.fields(Param)] == ["name", "env", "default", "parse", "doc"]


def test_a_child_forked_after_init_does_not_hang() -> None:
    """The SDK provider re-detects its resource in every forked child on a thread pool; if the
    pool's module was imported after ``init()`` (here by the app, in Celery by billiard), its
    fork lock must still be re-created before that runs, or the child hangs (a prefork Celery
    worker never ran a task)."""
    result = run(
        """
        import json, os, time
        import tripod
        tripod.init(service_name="fork")
        import concurrent.futures.thread
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(raw)
                break
            time.sleep(0.05)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        print(json.dumps({"child": status}))
        """
    )
    assert result == {"child": 7}
