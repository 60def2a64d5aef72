"""``tripod run`` on unmodified apps gives the same telemetry as the documented explicit set-up:
the same metric families, span names, kinds and attribute keys, for a stock Django project under
``manage.py runserver --noreload`` and a stock Celery worker (and the producer that sends its
task). Flask and gunicorn are compared in ``tests/sdk/test_autoinstrument.py``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.otlp_receiver import OtlpReceiver
from tests.helpers.procs import Proc, free_port
from tests.sdk.integrations.test_celery import redis_server

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]
APPS = "tests.sdk.autoinstrument_app"
TRIPOD = str(Path(sys.executable).parent / "tripod")


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as server:
        yield server


def _env(receiver: OtlpReceiver, service: str, **extra: str) -> dict[str, str]:
    return {
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_SERVICE_NAME": service,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "TRIPOD_SHUTDOWN_TIMEOUT": "2",
        "TRIPOD_MULTIPROC_DIR": "off",
        **extra,
    }


def _shape(receiver: OtlpReceiver, service: str, count: int) -> list[tuple[str, int, list[str]]]:
    """(name, kind, attribute keys) of ``service``'s spans, once ``count`` have arrived."""

    def mine(r: OtlpReceiver) -> list[dict[str, Any]]:
        return [s for s in r.spans if s["resource"].get("service.name") == service]

    receiver.wait_for(lambda r: len(mine(r)) >= count, timeout=60)  # a loaded CI machine
    return sorted((s["name"], s["kind"], sorted(s["attributes"])) for s in mine(receiver))


def _families(url: str, prefixes: tuple[str, ...]) -> list[str]:
    body = httpx.get(url, timeout=10).text
    return sorted(
        f.name for f in text_string_to_metric_families(body) if f.name.startswith(prefixes)
    )


def _runserver(tmp: Path, env: dict[str, str], zero_code: bool) -> tuple[list[str], Any]:
    port = free_port()
    manage = str(ROOT / "tests" / "sdk" / "autoinstrument_app" / "django_plain" / "manage.py")
    argv = [sys.executable, manage, "runserver", "--noreload", f"127.0.0.1:{port}"]
    if zero_code:
        argv = [TRIPOD, "run", "--", *argv]
    with Proc(argv, f"http://127.0.0.1:{port}", tmp / f"runserver-{port}.log", env=env) as proc:
        proc.wait_ready("/metrics")  # tripod's middleware answers it, untimed
        for i in range(2):
            assert httpx.get(f"{proc.url}/items/{i}/").json() == {"id": i}
        families = _families(proc.url + "/metrics", ("http_server_", "db_client_"))
        body = httpx.get(proc.url + "/metrics", timeout=10).text
    return families, body


def test_runserver_zero_code_matches_explicit_settings(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    settings = f"{APPS}.django_plain.settings"
    explicit_env = _env(receiver, "dj-explicit", DJANGO_SETTINGS_MODULE=f"{settings}_explicit")
    zero_env = _env(receiver, "dj-zero", DJANGO_SETTINGS_MODULE=settings)
    explicit, _ = _runserver(tmp_path, explicit_env, zero_code=False)
    zero, body = _runserver(tmp_path, zero_env, zero_code=True)
    assert explicit == zero
    assert "db_client_operation_duration_seconds" in zero
    assert 'http_route="/items/<int:item_id>/"' in body
    # runserver's migration check (one query at start-up), then two requests: each a server
    # span and its query's client span
    assert _shape(receiver, "dj-zero", 5) == _shape(receiver, "dj-explicit", 5)
    names = {name for name, _, _ in _shape(receiver, "dj-zero", 5)}
    assert names == {"GET /items/<int:item_id>/", "SELECT", "SELECT sqlite_master"}


def _worker(tmp: Path, module: str, env: dict[str, str], zero_code: bool) -> Proc:
    argv = [sys.executable, "-m", "celery", "-A", module, "worker", "--pool", "solo",
            "--loglevel", "INFO", "--without-heartbeat", "--without-gossip",
            "--without-mingle"]  # fmt: skip
    if zero_code:
        argv = [TRIPOD, "run", "--", *argv]
    proc = Proc(argv, "", tmp / f"{module}.log", env=env)
    deadline = time.monotonic() + 30
    while " ready." not in proc.log():  # no HTTP to poll: watch the log
        if proc.proc.poll() is not None or time.monotonic() > deadline:
            proc.stop()
            raise AssertionError(proc.log())
        time.sleep(0.1)
    return proc


def _send_task(module: str, env: dict[str, str], zero_code: bool) -> None:
    argv = [sys.executable, "-c", f"from {module} import double; double.delay(21)"]
    if zero_code:
        argv = [TRIPOD, "run", "--", *argv]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def _celery_run(
    tmp: Path, receiver: OtlpReceiver, broker: str, service: str, zero_code: bool
) -> list[str]:
    module = f"{APPS}.plain_celery" if zero_code else f"{APPS}.explicit_celery"
    port = free_port()
    env = _env(receiver, service, CELERY_BROKER_URL=broker, TRIPOD_METRICS_PORT=str(port))
    with _worker(tmp, module, env, zero_code):
        sender = {**env, "TRIPOD_METRICS_PORT": "", "OTEL_SERVICE_NAME": f"{service}-send"}
        _send_task(module, sender, zero_code)
        _shape(receiver, service, 1)  # the task ran
        return _families(f"http://127.0.0.1:{port}/metrics", ("celery_",))


def test_celery_worker_zero_code_matches_explicit_init(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    with redis_server(tmp_path) as url:
        broker = f"{url}/0"
        explicit = _celery_run(tmp_path, receiver, broker, "cel-explicit", zero_code=False)
        zero = _celery_run(tmp_path, receiver, broker, "cel-zero", zero_code=True)
    assert explicit == zero
    assert "celery_task_duration_seconds" in zero
    assert _shape(receiver, "cel-zero", 1) == _shape(receiver, "cel-explicit", 1)
    assert _shape(receiver, "cel-zero-send", 1) == _shape(receiver, "cel-explicit-send", 1)
    [(name, _, keys)] = _shape(receiver, "cel-zero", 1)
    assert name == "plain.double process"
    assert "celery.task.outcome" in keys
    [(name, _, _)] = _shape(receiver, "cel-zero-send", 1)
    assert name == "publish plain.double"
