"""A process stopped by SIGTERM with no handler of its own still exports its last spans and logs
(``docker stop`` of a script or of Django's runserver runs no ``atexit``)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.otlp_receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import logging, sys, time
    import tripod
    {handler}
    tripod.init(service_name="sigterm-app")
    with tripod.span("last-work"):
        logging.getLogger("app").warning("last words")
    print("ready", flush=True)
    time.sleep(60)
    """
)


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as server:
        yield server


def _run(receiver: OtlpReceiver, handler: str) -> subprocess.Popen[str]:
    env = {
        "PYTHONPATH": str(ROOT),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "TRIPOD_MULTIPROC_DIR": "off",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(handler=handler)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_sigterm_with_the_default_action_flushes_then_dies_of_sigterm(
    receiver: OtlpReceiver,
) -> None:
    proc = _run(receiver, "")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM  # the exit status a supervisor expects
    # export runs once a second: without the flush, both would still be queued when it died
    receiver.wait_for(lambda r: any(s["name"] == "last-work" for s in r.spans), timeout=5)
    receiver.wait_for(lambda r: any(rec["body"] == "last words" for rec in r.logs), timeout=5)


def test_the_apps_own_sigterm_handler_is_left_alone(receiver: OtlpReceiver) -> None:
    own = (
        "import os, signal\n"
        # os.write, not print: the signal can land while the main thread is still inside
        # print('ready')'s flush, and a second print then raises "reentrant call" (exit 1)
        "signal.signal(signal.SIGTERM, lambda *a: (os.write(1, b'own\\n'), sys.exit(3)))"
    )
    proc = _run(receiver, own)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 3
    assert proc.stdout is not None
    assert proc.stdout.read().strip() == "own"
