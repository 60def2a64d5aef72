"""Explore's PromQL autocomplete with 30,000 metric names, through the token.

Starts a real `tripod serve --token` on a temporary data directory, imports ``--names`` metric
names (one sample each), opens ``/explore`` in Debian's Chromium through Playwright, answers the
token prompt, types a name prefix into the editor and times how long until the completion list
shows; checks that every API request carried the token. Prints the size and time of the names
list as the editor fetches it, median of ``--runs`` fresh pages after a warm-up.

Run: ``.venv/bin/python benchmarks/ui_explore.py [--names 30000] [--runs 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.helpers.procs import Proc, free_port  # noqa: E402

TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PREFIX = "app_metric_1234"


def start(work: Path) -> Proc:
    port = free_port()
    argv = [sys.executable, "-m", "tripod", "serve", "--data-dir", str(work / "data"),
            "--host", "127.0.0.1", "--port", str(port), "--token", TOKEN]  # fmt: skip
    proc = Proc(argv, f"http://127.0.0.1:{port}", work / "serve.log")
    proc.wait_ready("/-/healthy")
    return proc


def _note(url: str, headers: dict[str, str], untokened: list[str]) -> None:
    if "/api/" in url and headers.get("authorization") != f"Bearer {TOKEN}":
        untokened.append(url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="tripod-bench-explore-") as tmp,
        start(Path(tmp)) as srv,
    ):
        now = int(time.time() * 1000)
        body = "".join(f'app_metric_{i:05d}_total{{job="svc{i % 7}"}} {i} {now}\n'
                       for i in range(args.names))  # fmt: skip
        httpx.post(srv.url + "/api/v1/import/prometheus", content=body, headers=AUTH,
                   timeout=600).raise_for_status()  # fmt: skip
        t = time.perf_counter()
        names = httpx.get(srv.url + "/api/v1/label/__name__/values", headers=AUTH, timeout=60)
        fetch_s = time.perf_counter() - t
        print(f"{len(names.json()['data']):,} names: {len(names.content) / 1e3:.0f} kB JSON "
              f"in {fetch_s * 1000:.0f} ms")  # fmt: skip
        shown: list[float] = []
        untokened: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/lib/chromium/chromium",
                                        args=["--no-sandbox"])  # fmt: skip
            try:
                for i in range(args.runs + 1):
                    page = browser.new_page()
                    page.on("request", lambda r: _note(r.url, r.headers, untokened))
                    page.goto(srv.url + "/explore")
                    page.get_by_label("Token", exact=True).fill(TOKEN)
                    page.get_by_role("button", name="Use token").click()
                    page.locator(".cm-content").click()
                    start_s = time.perf_counter()
                    page.keyboard.type(PREFIX)
                    options = page.locator(".cm-tooltip-autocomplete li")
                    options.first.wait_for(timeout=60_000)
                    if i:
                        shown.append(time.perf_counter() - start_s)
                    count = options.count()
                    page.close()
            finally:
                browser.close()
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        ms = [x * 1000 for x in shown]
        print(f"typing {PREFIX!r} to the completion list ({count} options shown): median "
              f"{statistics.median(ms):.0f} ms, min {min(ms):.0f}, max {max(ms):.0f} over "
              f"{args.runs} fresh pages (load {load})")  # fmt: skip
        # the first request of each page is the buildinfo call that gets the 401 and the prompt
        others = [u for u in untokened if "/status/buildinfo" not in u]
        print(f"API requests without the token, besides the first buildinfo: {len(others)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
