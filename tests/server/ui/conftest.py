"""The built UI and one real `tripod serve --token` over it, shared by the module's tests."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.procs import Proc, free_port
from tripod.server.ui import STATIC_DIR

TOKEN = "ui-test-token"


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    """The build's manifest; fails (never skips) when the UI was not built."""
    index = STATIC_DIR / "index.html"
    if not index.is_file():
        pytest.fail(f"the web UI is not built ({index} is missing): run `make ui`")
    data: dict[str, Any] = json.loads((STATIC_DIR / "manifest.json").read_text())
    return data


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, manifest: dict[str, Any]) -> Iterator[Proc]:
    """A real `tripod serve` with a token (the built UI is served from the package)."""
    work: Path = tmp_path_factory.mktemp("ui")
    port = free_port()
    argv = [sys.executable, "-m", "tripod", "serve", "--data-dir", str(work / "data"),
            "--host", "127.0.0.1", "--port", str(port), "--token", TOKEN]  # fmt: skip
    with Proc(argv, f"http://127.0.0.1:{port}", work / "serve.log") as proc:
        proc.wait_ready("/-/healthy")  # /-/ready is behind the token
        yield proc


@pytest.fixture(scope="module")
def http(served: Proc) -> Iterator[httpx.Client]:
    """One keep-alive client to the served UI (new connections per request cost seconds on a
    loaded machine); the Accept-Encoding it sends is set per request."""
    with httpx.Client(base_url=served.url, timeout=30.0) as client:
        yield client
