"""Session set-up for the conformance suite: one data set, one Prometheus, one tripod.

``TRIPOD_CONFORMANCE_PROM_ONLY=1`` runs the corpus against Prometheus alone (a self-check of the
corpus: valid cases must succeed, error cases must fail). ``TRIPOD_CONFORMANCE_REPORT=PATH``
writes every case's outcome as JSON (``python -m tests.conformance.report PATH`` summarises it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from tests.conformance import harness, staleness

#: case id -> {"query", "equal", "xfail", "diff"}; filled by the test, summed up at session end
#: by tests/conftest.py (which also gathers them from pytest-xdist workers).
OUTCOMES: dict[str, dict[str, object]] = {}


def prom_only() -> bool:
    return os.environ.get("TRIPOD_CONFORMANCE_PROM_ONLY", "") not in ("", "0")


class Env:
    """Both backends, loaded with the same data; ``tripod`` is None in Prometheus-only mode."""

    def __init__(self, prometheus: harness.Backend, tripod: harness.Backend | None) -> None:
        self.prometheus = prometheus
        self.tripod = tripod
        self.stale_start = 0
        self.stale_data: staleness.StaleData | None = None
        #: Why the remote-written staleness data could not be loaded, if it could not.
        self.stale_error = ""

    def load_staleness(self) -> None:
        data = staleness.build()
        self.stale_data = data
        self.stale_start = data.start_s
        for backend in (self.prometheus, self.tripod):
            if backend is None:
                continue
            try:
                staleness.send(backend.url, data)
            except (RuntimeError, httpx.HTTPError) as exc:
                self.stale_error += f"{backend.name}: {exc}\n"

    def resend_staleness(self, url: str) -> None:
        """The remote-written data again, to a Prometheus restarted with an empty head."""
        if self.stale_data is not None:
            try:
                staleness.send(url, self.stale_data)
            except (RuntimeError, httpx.HTTPError) as exc:
                self.stale_error += f"prometheus after a restart: {exc}\n"


@pytest.fixture(scope="session")
def conformance_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    workdir = tmp_path_factory.mktemp("conformance")
    data = harness.generate(workdir)
    procs = {"prometheus": harness.start_prometheus_with_blocks(workdir / "prometheus", data)}

    envs: list[Env] = []

    def restart_prometheus() -> str:
        old = procs["prometheus"]
        restarted = harness.restart_prometheus(old, workdir / "prometheus", fresh_head=True)
        procs["prometheus"] = restarted
        for env in envs:
            env.resend_staleness(restarted.url)
        return restarted.url

    tripod_proc = None
    try:
        if not prom_only():
            tripod_proc = harness.start_tripod_with_data(workdir, data)
        prom = harness.Backend("prometheus", procs["prometheus"].url, 30.0, restart_prometheus)
        tripod = harness.Backend("tripod", tripod_proc.url) if tripod_proc else None
        env = Env(prom, tripod)
        envs.append(env)
        env.load_staleness()
        yield env
        prom.close()
        if tripod:
            tripod.close()
    finally:
        if tripod_proc:
            tripod_proc.stop()
        procs["prometheus"].stop()
