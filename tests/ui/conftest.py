"""Browser tests: Debian's chromium driven by Playwright against a real `tripod serve` fed by
the demo shop (``examples/demo.py``: two services and a Celery worker) plus the data of
``_data.py``. Screenshots go to ``test-artifacts/ui/`` (gitignored).

Playwright's own browser download is not available here, so pytest-playwright's launch
arguments are overridden to start the system chromium through ``executable_path``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.procs import free_port
from tests.ui import _data

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_path() -> str:
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("Debian's chromium is not installed: run `make test`, which installs it")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@dataclasses.dataclass
class Stack:
    url: str
    data_dir: Path
    demo_out: Path

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.url + path, params=params, timeout=10)
        response.raise_for_status()
        return response.json()


def wait_until(check: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            if check():
                return
        time.sleep(0.5)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The demo (tripod serve + shop + inventory + worker + traffic, first incident at once)
    running for the whole session, with the extra data fed in."""
    if not (ROOT / "src" / "tripod" / "server" / "ui" / "static" / "index.html").exists():
        pytest.fail("the UI is not built: run `make ui` (make test does)")
    tmp = tmp_path_factory.mktemp("ui")
    port = free_port()
    out = tmp / "demo.out"
    argv = [sys.executable, str(ROOT / "examples" / "demo.py"), "--data-dir", str(tmp / "demo"),
            "--port", str(port), "--first-incident", "0", "--incident-length", "90",
            "--incident-every", "600"]  # fmt: skip
    with out.open("wb") as sink:
        demo = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    stack = Stack(f"http://127.0.0.1:{port}", tmp / "demo", out)
    try:
        wait_until(lambda: "traffic round 1:" in out.read_text(), "the demo to start", 90)
        _data.feed(stack.url, stack.data_dir / "deploy" / "grafana" / "dashboards")

        def three_services() -> bool:
            found = stack.get("/api/v1/traces", service="demo-shop", limit=50)["data"]["traces"]
            return any(len(t["services"]) == 3 for t in found)

        wait_until(three_services, "a trace over the shop, the inventory and the worker", 60)
        query = "http_server_request_duration_seconds_bucket"
        wait_until(lambda: stack.get("/api/v1/query_exemplars", query=query)["data"],
              "exemplars scraped from the shop", 60)  # fmt: skip
        yield stack
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGTERM)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(timeout=10)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
