"""`make demo`'s script, run for a few seconds: it must show where the three pillars are, and
stop everything it started when it is told to."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_and_points_at_the_three_pillars(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "demo.py"),
            "--duration",
            "6",
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.match(r"tripod UI: +http://127\.0\.0\.1:\d+/", out), out  # the URL comes first
    assert "tripod serve:" in out, out
    assert "traffic round 3:" in out
    assert re.search(r"curl http://127\.0\.0\.1:\d+/metrics", out)
    assert "/api/v1/query?query=" in out
    assert "/api/v1/traces?service=demo-shop" in out
    assert re.search(r"a trace: +curl http://127\.0\.0\.1:\d+/api/v1/traces/[0-9a-f]{32}", out), out
    assert "a log record:" in out
    assert "'http_route': '/orders/{order_id}'" in out, out
    # The laptop runs the files production gets: tripod generate's rules, evaluated by serve.
    assert (tmp_path / "demo" / "deploy" / "prometheus" / "rules" / "demo-shop.rules.yml").exists()
    loaded = re.search(r"\((\d+) groups, (\d+) rules loaded\)", out)
    assert loaded is not None, out
    assert int(loaded.group(1)) >= 3, out
    assert int(loaded.group(2)) >= 20, out
    assert "/api/v1/alerts" in out
    log = (tmp_path / "demo" / "demo-shop.log").read_text()
    assert '"logger":"tripod.access"' in log


def _descendants(pid: int) -> set[int]:
    """Every live process under ``pid`` (by walking /proc's parent links)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_sigterm_stops_every_process_the_demo_started(tmp_path: Path) -> None:
    out = tmp_path / "demo.out"
    with out.open("wb") as sink:
        demo = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "demo.py"), "--data-dir", str(tmp_path / "d")],
            stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while "traffic round 1:" not in out.read_text() and time.monotonic() < deadline:
            assert demo.poll() is None, out.read_text()
            time.sleep(0.2)
        assert "traffic round 1:" in out.read_text(), out.read_text()
        started = _descendants(demo.pid)
        # tripod serve, redis, the worker, inventory and the shop (and whatever they forked).
        assert len(started) >= 5, started
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 0, out.read_text()
        deadline = time.monotonic() + 10
        while any(map(_alive, started)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in started if _alive(p)], out.read_text()
        assert "stopping" in out.read_text()
    finally:
        for pid in [demo.pid, *started]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        demo.wait(timeout=10)
