"""The dashboards view's pure TypeScript modules (step and macros, variable interpolation,
variable queries, legends, PromQL metric names, grid layout and data source references, tables,
reducers and thresholds, heatmap buckets, units), bundled by esbuild and run under
``node --test``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
UI = REPO / "ui"
ESBUILD = UI / "node_modules" / ".bin" / "esbuild"
MODULES = (
    "src/pages/dashboards/lib/interval.ts",
    "src/pages/dashboards/lib/interpolate.ts",
    "src/pages/dashboards/lib/legend.ts",
    "src/pages/dashboards/lib/selectors.ts",
    "src/pages/dashboards/lib/varquery.ts",
    "src/pages/dashboards/lib/layout.ts",
    "src/pages/dashboards/variables.ts",
    "src/panels/_util/frames.ts",
    "src/panels/_util/options.ts",
    "src/panels/_util/reduce.ts",
    "src/panels/_util/heatmap.ts",
    "src/panels/_util/units.ts",
)


def test_the_pure_modules_under_node(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not ESBUILD.exists():
        if os.environ.get("CI"):
            pytest.fail("node and ui/node_modules are needed: run `make` (npm ci) first")
        pytest.skip("node or ui/node_modules missing (npm ci in ui/)")
    entry = tmp_path / "entry.ts"
    entry.write_text("".join(f'export * from "{UI / m}";\n' for m in MODULES))
    subprocess.run(
        [str(ESBUILD), str(entry), "--bundle", "--format=esm", "--platform=node",
         f"--outfile={tmp_path / 'lib.mjs'}", "--log-level=warning"],
        check=True, cwd=UI, timeout=60,
    )  # fmt: skip
    shutil.copy(Path(__file__).with_name("ui_lib.test.mjs"), tmp_path / "ui_lib.test.mjs")
    done = subprocess.run([node, "--test", str(tmp_path / "ui_lib.test.mjs")],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout
