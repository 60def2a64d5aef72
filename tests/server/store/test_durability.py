"""Acknowledged data survives kill -9 of the server during sustained ingest."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers.procs import start_tripod_serve
from tripod.server.store import Database, DuckSampleStore, Matcher

SENDER = Path(__file__).with_name("durable_sender.py")


def acked(path: Path) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {"samples": set(), "spans": set(), "logs": set()}
    for line in path.read_text().splitlines():
        kind, _, batch = line.partition(" ")
        out[kind].add(int(batch))
    return out


def test_kill_9_during_sustained_ingest_keeps_every_acknowledged_item(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ack_file = tmp_path / "acks.txt"
    ack_file.touch()
    server = start_tripod_serve(data)
    sender = subprocess.Popen([sys.executable, str(SENDER), server.url, str(ack_file)])
    try:
        deadline = time.monotonic() + 60
        while len(acked(ack_file)["logs"]) < 8 and time.monotonic() < deadline:
            assert sender.poll() is None, "the sender died before the kill"
            time.sleep(0.1)
        server.kill9()  # mid-stream: the sender is still posting
        sender.wait(timeout=30)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait()
        server.stop()
    done = acked(ack_file)
    assert len(done["samples"]) >= 8

    with start_tripod_serve(data) as restarted:
        for batch in sorted(done["spans"]):
            trace_id = (batch.to_bytes(8, "big") + b"\x00" * 7 + b"\x01").hex()
            r = httpx.get(f"{restarted.url}/api/v1/traces/{trace_id}")
            assert r.status_code == 200, f"acknowledged span batch {batch} lost"
            assert len(r.json()["data"]["spans"]) == 50
        for batch in sorted(done["logs"]):
            r = httpx.get(f"{restarted.url}/api/v1/logs",
                          params={"contains": f"durable batch {batch} ", "limit": 100})  # fmt: skip
            assert len(r.json()["data"]["logs"]) == 50, f"acknowledged log batch {batch} lost"
    db = Database(data)
    try:
        store = DuckSampleStore(db)
        for batch in sorted(done["samples"]):
            found = store.select([Matcher("batch", "=", str(batch))], 0, 2**62)
            assert len(found) == 200, f"acknowledged sample batch {batch} lost"
    finally:
        db.close()
