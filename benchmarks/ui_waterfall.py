"""The trace waterfall in a real browser (Debian's chromium, headless, through Playwright) for
one trace of 10,000 spans: first render, scrolling, and search within the trace.

Run: ``.venv/bin/python benchmarks/ui_waterfall.py [--spans 10000] [--rounds 5]``. Needs the UI
built (``make ui``). Starts `tripod serve` on a temporary directory, sends one generated trace
(tests/server/query/tracegen.py), then ``--rounds`` times: opens ``/traces/<id>`` in a fresh
page and reads the page's own ``performance.measure`` entries (``waterfall-fetch``: the
column-wise request answered and parsed; ``waterfall-model``: the tree built;
``waterfall-render``: the first frame with rows painted), the wall-clock from navigation to the
first ``span-row`` visible, the number of row elements in the DOM, the frame times of 40 scroll
jumps across the whole trace (each waits two animation frames; the same wait with no scroll is
the peer, as the machine is shared), and the time from typing a search to the "k of N"
counter. The first render's peer, in the same run and interleaved, is the same page on a
``--peer-spans`` (100) span trace.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
from tests.helpers.procs import start_tripod_serve  # noqa: E402
from tests.server.query.tracegen import big_trace  # noqa: E402

TRACE = "ef" * 16
PEER = "9a" * 16
CHROMIUM = "/usr/lib/chromium/chromium"

IDLE_JS = """async () => {
  const frames = [];
  for (let k = 1; k <= 40; k++) {
    const t0 = performance.now();
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    frames.push(performance.now() - t0);
  }
  return frames;
}"""

SCROLL_JS = """async () => {
  const el = document.querySelector('[data-testid=waterfall]');
  const frames = [];
  const max = el.scrollHeight - el.clientHeight;
  for (let k = 1; k <= 40; k++) {
    const t0 = performance.now();
    el.scrollTop = (max * ((k * 7) % 40)) / 40;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    frames.push(performance.now() - t0);
  }
  return frames;
}"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--peer-spans", type=int, default=100)
    args = ap.parse_args()
    results: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        results.setdefault(key, []).append(value)

    with (
        tempfile.TemporaryDirectory() as tmp,
        start_tripod_serve(Path(tmp) / "data") as proc,
        sync_playwright() as pw,
    ):
        r = httpx.post(proc.url + "/v1/traces", json=big_trace(TRACE, args.spans), timeout=120)
        r.raise_for_status()
        r = httpx.post(proc.url + "/v1/traces", json=big_trace(PEER, args.peer_spans), timeout=120)
        r.raise_for_status()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        print("browser", browser.version)
        for _ in range(args.rounds):
            # the peer, interleaved: the same page on a small trace
            page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
            page.goto(f"{proc.url}/traces/{PEER}")
            page.wait_for_selector("[data-testid=span-row]", timeout=120_000)
            page.wait_for_function("performance.getEntriesByName('waterfall-render').length > 0")
            ms = page.evaluate("performance.getEntriesByName('waterfall-render')[0].duration")
            add(f"peer: waterfall-render of {args.peer_spans} spans (ms)", ms)
            page.close()
            page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
            t0 = time.perf_counter()
            page.goto(f"{proc.url}/traces/{TRACE}")
            try:
                page.wait_for_selector("[data-testid=span-row]", timeout=120_000)
            except Exception:
                page.screenshot(path=str(Path(tempfile.gettempdir()) / "ui_waterfall_failure.png"))
                print(page.inner_text("main")[:500])
                raise
            add("navigation to first row (wall, ms)", (time.perf_counter() - t0) * 1000)
            page.wait_for_function("performance.getEntriesByName('waterfall-render').length > 0")
            for name in ("waterfall-fetch", "waterfall-model", "waterfall-render"):
                ms = page.evaluate(f"performance.getEntriesByName('{name}')[0].duration")
                add(f"{name} (ms after the route opened)", ms)
            add("row elements in the DOM", page.locator("[data-testid=span-row]").count())
            idle = page.evaluate(IDLE_JS)
            add("peer: two frames with no scroll, median (ms)", statistics.median(idle))
            frames = page.evaluate(SCROLL_JS)
            add("scroll jump to painted frame, median (ms)", statistics.median(frames))
            add("scroll jump to painted frame, max (ms)", max(frames))
            add(
                "row elements in the DOM after scrolling",
                page.locator("[data-testid=span-row]").count(),
            )
            box = page.get_by_test_id("trace-search")
            t1 = time.perf_counter()
            box.fill("op-17")
            box.press("Enter")
            counter = "document.querySelector('[data-testid=trace-search-count]')"
            page.wait_for_function(f"{counter}.textContent.includes(' of ')")
            add("search 'op-17' to counter (wall, ms)", (time.perf_counter() - t1) * 1000)
            add(
                "matches", float(page.get_by_test_id("trace-search-count").inner_text().split()[-1])
            )
            page.close()
        browser.close()
    print(f"one trace of {args.spans} spans, {args.rounds} rounds, median (min-max)")
    for key, values in results.items():
        print(f"  {key:48s} {statistics.median(values):8.1f} ({min(values):.1f}-{max(values):.1f})")


if __name__ == "__main__":
    main()
