"""The UI's shared libraries (markdown sanitizer, time parsing, URL state, error positions, query
result shaping) under Node's test runner: `npm test` in ui/ (ui/tests/*.test.ts)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UI = Path(__file__).resolve().parents[3] / "ui"


def test_ui_library_unit_tests_pass() -> None:
    npm = shutil.which("npm")
    if npm is None or not (UI / "node_modules" / "esbuild").is_dir():
        pytest.fail("Node.js/npm or ui/node_modules is missing: run `make ui`")
    done = subprocess.run(
        [npm, "test", "--silent"], cwd=UI, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout
    assert "# pass 0" not in done.stdout
