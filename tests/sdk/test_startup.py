"""Start-up: ``import tripod`` and ``tripod.init()`` import no library the app did not import,
and an integration still activates when its library is imported after ``init()``.

Each check runs in a fresh interpreter (``sys.modules`` of this test process is full already).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.helpers.otlp_receiver import HeaderRecorder

#: Libraries the request path does not need; none may be imported on tripod's behalf.
NOT_IMPORTED = (
    "requests", "httpx", "urllib3", "starlette", "flask", "celery", "structlog", "asyncio",
    "http.server", "prometheus_client", "google.protobuf", "opentelemetry.sdk._logs",
    "opentelemetry.exporter",
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
