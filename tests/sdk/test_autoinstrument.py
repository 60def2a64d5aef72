"""``tripod run -- <command>`` on an unmodified Flask app (under gunicorn and as ``python
app.py``) gives the same /metrics families as explicit init, and server spans reach a real OTLP
receiver."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.otlp_receiver import OtlpReceiver
from tests.helpers.procs import Proc, free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TRIPOD = str(Path(sys.executable).parent / "tripod")
ROUTE = "/orders/<int:order_id>"
SERVER_KIND = 2


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as server:
        yield server


def _env(receiver: OtlpReceiver, service: str) -> dict[str, str]:
    return {
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_SERVICE_NAME": service,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "TRIPOD_MULTIPROC_DIR": "",
    }


def _families(proc: Proc) -> dict[str, float]:
    """tripod's http_server families on /metrics, with the request count of ROUTE."""
    body = httpx.get(proc.url + "/metrics", timeout=10).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(body):
        if family.name.startswith("http_server_"):
            out[family.name] = sum(
                s.value
                for s in family.samples
                if s.name.endswith("_count") and s.labels.get("http_route") == ROUTE
            )
    return out


def _spans(receiver: OtlpReceiver, service: str) -> list[dict[str, object]]:
    def mine(r: OtlpReceiver) -> list[dict[str, object]]:
        return [
            s
            for s in r.spans
            if s["kind"] == SERVER_KIND and s["resource"].get("service.name") == service
        ]

    receiver.wait_for(lambda r: bool(mine(r)))
    return mine(receiver)


def _serve(argv: list[str], env: dict[str, str], log: Path, port: int) -> Proc:
    proc = Proc(argv, f"http://127.0.0.1:{port}", log, env=env)
    proc.wait_ready("/metrics")  # answered by tripod, not counted (a slow probe may be retried)
    return proc


def _gunicorn(module: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", f"tests.sdk.autoinstrument_app.{module}:app",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--log-level", "warning"]  # fmt: skip


def test_tripod_run_gunicorn_matches_explicit_init(tmp_path: Path, receiver: OtlpReceiver) -> None:
    port = free_port()
    env = _env(receiver, "explicit")
    with _serve(_gunicorn("explicit_flask", port, 1), env, tmp_path / "explicit.log", port) as proc:
        for i in range(3):
            assert httpx.get(f"{proc.url}/orders/{i}").json() == {"id": i}
        explicit = _families(proc)
    assert explicit["http_server_request_duration_seconds"] == 3

    port = free_port()
    argv = [TRIPOD, "run", "--", *_gunicorn("plain_flask", port, 2)]
    env = {**_env(receiver, "zero-code"), "TRIPOD_MULTIPROC_DIR": str(tmp_path / "mp")}
    with _serve(argv, env, tmp_path / "run.log", port) as proc:
        for i in range(3):
            assert httpx.get(f"{proc.url}/orders/{i}").json() == {"id": i}
        zero = _families(proc)
        assert sorted(zero) == sorted(explicit)
        assert zero["http_server_request_duration_seconds"] == 3  # summed over both workers
    span, explicit_span = _spans(receiver, "zero-code")[0], _spans(receiver, "explicit")[0]
    assert span["name"] == explicit_span["name"] == f"GET {ROUTE}"
    assert sorted(span["attributes"]) == sorted(explicit_span["attributes"])  # type: ignore[call-overload]
    assert span["attributes"]["http.route"] == ROUTE  # type: ignore[index]


def test_tripod_run_python_app_py(tmp_path: Path, receiver: OtlpReceiver) -> None:
    port = free_port()
    script = ROOT / "tests" / "sdk" / "autoinstrument_app" / "plain_flask.py"
    env = {**_env(receiver, "app-py"), "PORT": str(port)}
    argv = [TRIPOD, "run", "--", "python", str(script)]
    with _serve(argv, env, tmp_path / "app.log", port) as proc:
        assert httpx.get(f"{proc.url}/orders/7").json() == {"id": 7}
        families = _families(proc)
        assert families["http_server_request_duration_seconds"] == 1
        # the dev server dies on SIGTERM without flushing, so wait while it runs
        assert any(s["attributes"]["url.path"] == "/orders/7" for s in _spans(receiver, "app-py"))  # type: ignore[index]


def test_tripod_run_without_command_or_with_unknown_one_exits_2() -> None:
    for argv in ([TRIPOD, "run"], [TRIPOD, "run", "--", "no-such-command-xyz"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1
        assert done.stderr.startswith("tripod run:")


def test_tripod_run_passes_exit_code_through() -> None:
    argv = [TRIPOD, "run", "--", sys.executable, "-c", "raise SystemExit(7)"]
    env = {"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "none", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False, env=env)
    assert done.returncode == 7, done.stderr


def test_tripod_run_uvicorn_workers_count_an_explicit_app_once(tmp_path: Path) -> None:
    """The app instruments itself; the uvicorn hook must see that under uvicorn's wrappers."""
    port = free_port()
    argv = [TRIPOD, "run", "--", "uvicorn", "tests.sdk.metrics.mp_app.asgi:app",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
            "--log-level", "warning"]  # fmt: skip
    env = {"PYTHONPATH": str(ROOT), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
           "OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}  # fmt: skip
    with Proc(argv, f"http://127.0.0.1:{port}", tmp_path / "uvicorn.log", env=env) as proc:
        proc.wait_ready("/metrics")
        for i in range(10):
            assert httpx.get(f"{proc.url}/r{i}").status_code == 200
        body = httpx.get(proc.url + "/metrics", timeout=10).text
        counts = [
            s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
            if s.name == "http_server_request_duration_seconds_count"
        ]
        assert sum(counts) == 10  # once each, summed over both workers (auto multiproc dir)


def test_tripod_run_gunicorn_stock_django(tmp_path: Path, receiver: OtlpReceiver) -> None:
    port = free_port()
    argv = [TRIPOD, "run", "--", sys.executable, "-m", "gunicorn",
            "tests.sdk.autoinstrument_app.django_plain.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"]  # fmt: skip
    env = {
        **_env(receiver, "django-zero"),
        "TRIPOD_MULTIPROC_DIR": str(tmp_path / "mp"),
        # an earlier test of the session may have set it for another Django project
        "DJANGO_SETTINGS_MODULE": "tests.sdk.autoinstrument_app.django_plain.settings",
    }
    with Proc(argv, f"http://127.0.0.1:{port}", tmp_path / "django.log", env=env) as proc:
        proc.wait_ready("/metrics")  # answered by tripod's middleware, not counted
        for i in range(3):
            assert httpx.get(f"{proc.url}/items/{i}/").json() == {"id": i}
        body = httpx.get(proc.url + "/metrics", timeout=10).text
        counts = {
            s.labels["http_route"]: s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
            if s.name == "http_server_request_duration_seconds_count"
        }
        assert counts == {"/items/<int:item_id>/": 3}, counts
        span = _spans(receiver, "django-zero")[0]
        assert span["attributes"]["http.route"] == "/items/<int:item_id>/"  # type: ignore[index]
