"""The private directory of a pre-fork server: one per server run, old runs swept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tripod.sdk.metrics._prefork import detect_master, server_dir


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_same_master_same_directory_dead_masters_swept(tmp_path: Path) -> None:
    root = tmp_path / "mp"
    dead = root / f"{_dead_pid()}-123"
    dead.mkdir(parents=True, mode=0o700)
    (dead / "w-1.db").write_bytes(b"x")
    root.chmod(0o700)
    reused = root / f"{os.getpid()}-1"  # this pid, but another start time: an older process
    reused.mkdir()
    mine = server_dir(os.getpid(), root)
    assert mine.parent == root
    assert mine.name.startswith(f"{os.getpid()}-")
    assert mine != reused
    assert sorted(p.name for p in root.iterdir()) == [mine.name]
    (mine / "w-2.db").write_bytes(b"y")
    assert server_dir(os.getpid(), root) == mine  # a second worker of the same server
    assert (mine / "w-2.db").exists()


def test_shared_base_directory_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "open"
    root.mkdir(mode=0o777)
    root.chmod(0o777)
    with pytest.raises(PermissionError, match="TRIPOD_MULTIPROC_DIR"):
        server_dir(os.getpid(), root)


def test_no_server_around_a_plain_process() -> None:
    assert detect_master() is None  # pytest: neither gunicorn nor uvicorn runs it
