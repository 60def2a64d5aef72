"""Span group commit: concurrent appends all land, each caller returns only once its own spans
are committed (readable from another cursor), and a failed commit fails every batch in it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tripod.server.config import Limits
from tripod.server.store.db import SCHEMA, Database, StoreError
from tripod.server.store.spans import SPAN_COLUMNS, DuckSpanStore


def _columns(sender: int, batch: int, n: int = 50) -> dict[str, list[Any]]:
    rows = []
    for i in range(n):
        tid = f"{sender:08x}{batch:08x}{i:016x}"
        rows.append((tid, sender * 1_000_000 + batch, f"{i:016x}", "", "op", "server", "svc",
                     i, i + 10, 10, "unset", "", "{}", "[]", "[]", "{}", "{}"))  # fmt: skip
    return {name: [r[k] for r in rows] for k, name in enumerate(SPAN_COLUMNS)}


def test_concurrent_appends_are_each_committed_before_they_return(tmp_path: Path) -> None:
    db = Database(tmp_path)
    store = DuckSpanStore(db, Limits())
    unseen: list[str] = []

    def sender(s: int) -> None:
        for b in range(15):
            assert store.append(_columns(s, b)) == 50
            got = db.query("SELECT count(*) FROM spans WHERE tid = ?", [s * 1_000_000 + b], 10)
            if got[0][0] != 50:
                unseen.append(f"sender {s} batch {b}: {got[0][0]} of 50 readable")

    threads = [threading.Thread(target=sender, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert unseen == []
    assert db.query("SELECT count(*), count(DISTINCT trace_id) FROM spans", [], 10) == [
        (6 * 15 * 50, 6 * 15 * 50)
    ]


def test_a_failed_commit_fails_every_batch_in_it(tmp_path: Path) -> None:
    db = Database(tmp_path)
    store = DuckSpanStore(db, Limits())
    db.con.execute("DROP TABLE spans")  # the INSERT fails
    with pytest.raises(StoreError, match="storing 50 spans failed"):
        store.append(_columns(9, 9))
    db.con.execute(SCHEMA)
    store.append(_columns(1, 1))  # the store works again, and the failed batch is not retried
    assert db.query("SELECT count(*) FROM spans", [], 10) == [(50,)]
