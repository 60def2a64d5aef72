"""The harness survives a reference Prometheus that stops answering: one restart, same data."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.conformance import harness, staleness
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


def test_a_restart_with_a_fresh_head_answers_the_data_sent_again(tmp_path: Path) -> None:
    """The conformance session restarts with an empty head and remote-writes its data again
    (a SIGKILLed 2.42 can answer errors over its replayed head): the data is there again."""
    flags = ("--storage.tsdb.retention.time=100y", "--web.enable-remote-write-receiver")
    procs = [start_prometheus(tmp_path, harness.PROMETHEUS_CONFIG, *flags)]
    start_s = int(time.time()) - 600
    key = (("__name__", "conf_recover"), ("series", "x"))
    data = staleness.StaleData(
        start_s, {key: [(start_s * 1000, 1.0), (start_s * 1000 + 15_000, 2.0)]}
    )
    staleness.send(procs[0].url, data)

    def recover() -> str:
        procs.append(harness.restart_prometheus(procs[-1], tmp_path, fresh_head=True))
        staleness.send(procs[-1].url, data)
        return procs[-1].url

    backend = harness.Backend("prometheus", procs[0].url, timeout=2.0, recover=recover)
    at = start_s + 60.0
    try:
        assert backend.instant("conf_recover", at).result[0]["value"] == [at, "2"]
        os.killpg(procs[0].proc.pid, signal.SIGSTOP)
        answer = backend.instant("count_over_time(conf_recover[1m])", at)
        assert answer.status == "success", answer
        assert answer.result[0]["value"] == [at, "2"]  # both samples, once each
        assert backend.restarts == 1
    finally:
        backend.close()
        for proc in procs:
            proc.stop()
