"""The harness survives a reference Prometheus that stops answering: one restart, same data."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.conformance import harness
from tests.helpers.procs import start_prometheus


def test_a_hung_prometheus_is_restarted_and_the_query_asked_again(tmp_path: Path) -> None:
    flags = ("--storage.tsdb.retention.time=100y", "--web.enable-remote-write-receiver")
    procs = [start_prometheus(tmp_path, harness.PROMETHEUS_CONFIG, *flags)]

    def recover() -> str:
        procs.append(harness.restart_prometheus(procs[-1], tmp_path))
        return procs[-1].url

    backend = harness.Backend("prometheus", procs[0].url, timeout=2.0, recover=recover)
    try:
        assert backend.instant("1 + 1", 1_000.0).status == "success"
        os.killpg(procs[0].proc.pid, signal.SIGSTOP)  # answers nothing from now on, like a deadlock
        answer = backend.instant("2 + 2", 1_000.0)
        assert answer.status == "success", answer
        assert answer.result == [1_000, "4"]
        assert backend.restarts == 1
        assert procs[0].proc.poll() is not None  # the hung one is gone
    finally:
        backend.close()
        for proc in procs:
            proc.stop()
