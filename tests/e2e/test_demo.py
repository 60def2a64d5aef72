"""`make demo`'s script, run for a few seconds: it must show where the three pillars are."""

from __future__ import annotations

import re
import subprocess
import sys
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
