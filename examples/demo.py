"""`make demo`: tripod serve + the demo shop under uvicorn + traffic, and where to look.

Generates the shop's production files with ``tripod generate`` (rules, alerts, SLOs, dashboards,
runbooks from ``examples/generate/demo-shop/tripod.yaml``), starts the embedded backend
(``python -m tripod serve``) evaluating those generated rules plus ``examples/demo-rules.yml``,
with its built-in notifier posting to a webhook this script listens on, scraping the shop's
/metrics and receiving its OTLP traces and logs, starts ``examples/demo_service.py`` under
uvicorn, sends
a little traffic every second (orders, checkouts that call another route over httpx, a 404,
an error), and prints the URLs and curl commands that show the three pillars. Runs until
Ctrl-C, or ``--duration SECONDS``. If the backend cannot start, the shop prints its spans to
the console instead, and the demo says so.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            cwd=ROOT,
            start_new_session=True,
        )


def wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return True
        time.sleep(0.1)
    return False


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


class _WebhookSink(http.server.BaseHTTPRequestHandler):
    """Receives the built-in notifier's webhook posts (Alertmanager's JSON, version 4)."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.end_headers()
        with contextlib.suppress(ValueError):
            message = json.loads(body)
            names = sorted({a["labels"].get("alertname", "?") for a in message.get("alerts", [])})
            print(f"notification received: {message.get('status')} {', '.join(names)} "
                  f"(receiver {message.get('receiver')})", flush=True)  # fmt: skip

    def log_message(self, format: str, *args: Any) -> None:
        return


def start_webhook_sink() -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WebhookSink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/alerts"


def generate_stack(data_dir: Path) -> Path | None:
    """``tripod generate`` for the demo shop into ``data_dir/deploy``; None if it failed."""
    out = data_dir / "deploy"
    description = ROOT / "examples" / "generate" / "demo-shop"
    result = subprocess.run(
        [sys.executable, "-m", "tripod", "generate", str(description), "--out", str(out)],
        capture_output=True, text=True, check=False, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    if result.returncode != 0:
        print(f"tripod generate failed: {(result.stderr or result.stdout).strip()}")
        return None
    print(f"generated:     {out}  ({result.stdout.strip()})")
    return out


def start_backend(
    data_dir: Path, shop_port: int, deploy: Path | None, webhook: str
) -> tuple[subprocess.Popen[bytes] | None, str]:
    port = free_port()
    config = data_dir / "serve.yaml"
    config.write_text(
        "global:\n"
        "  evaluation_interval: 15s\n"
        "scrape_configs:\n"
        "  - job_name: demo-shop\n"
        "    scrape_interval: 2s\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{shop_port}']\n"
    )
    routing = data_dir / "alertmanager.yml"
    routing.write_text(
        "route:\n"
        "  receiver: demo-webhook\n"
        "  group_by: [alertname, service]\n"
        "  group_wait: 5s\n"
        "  group_interval: 30s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: demo-webhook\n"
        "    webhook_configs:\n"
        f"      - url: {webhook}\n"
        "        send_resolved: true\n"
    )
    argv = [sys.executable, "-m", "tripod", "serve", "--data-dir", str(data_dir / "store"),
            "--host", "127.0.0.1", "--port", str(port), "--config", str(config),
            "--rules", str(ROOT / "examples" / "demo-rules.yml"),
            "--alertmanager-config", str(routing)]  # fmt: skip
    if deploy is not None:
        argv += ["--rules", str(deploy / "prometheus" / "rules" / "*.yml")]
    url = f"http://127.0.0.1:{port}"
    proc = start(argv, data_dir / "serve.log")
    if wait_ready(proc, url + "/-/ready"):
        return proc, url
    stop(proc)
    return None, url


def traffic(client: httpx.Client, shop: str) -> dict[str, int]:
    """One round of requests; returns status code counts."""
    counts: dict[str, int] = {}
    calls: list[tuple[str, str]] = [
        ("GET", f"/orders/{random.randint(1, 500)}"),
        ("GET", f"/orders/{random.randint(1, 500)}"),
        ("POST", f"/checkout?sku=sku-{random.randint(1, 9)}"),
        ("GET", "/orders/0"),
    ]
    if random.random() < 0.3:
        calls.append(("GET", "/boom"))
    for method, path in calls:
        with contextlib.suppress(httpx.HTTPError):
            status = client.request(method, shop + path).status_code
            counts[str(status)] = counts.get(str(status), 0) + 1
    return counts


def get_json(url: str, key: str) -> list[Any]:
    """``data[key]`` of a tripod serve / Prometheus API answer, or [] if unavailable."""
    with contextlib.suppress(httpx.HTTPError, ValueError, AttributeError):
        response = httpx.get(url, timeout=5.0)
        if response.status_code == 200:
            found = response.json().get("data", {}).get(key, [])
            return found if isinstance(found, list) else []
    return []


def wait_for_data(backend: str, timeout: float = 15.0) -> None:
    """Give the backend time to store the first traces and scrapes (export is batched)."""
    promql = "sum by (http_route) (rate(http_server_request_duration_seconds_count[1m]))"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        traces = get_json(f"{backend}/api/v1/traces?service=demo-shop&limit=1", "traces")
        scraped = get_json(f"{backend}/api/v1/query?query={urllib.parse.quote(promql)}", "result")
        if traces and scraped:
            return
        time.sleep(0.5)


def show_pillars(backend: str | None, shop: str) -> None:
    print("\n=== the three pillars ===")
    print(f"metrics (Prometheus text):   curl {shop}/metrics")
    if backend is None:
        print("traces and logs:             printed by the shop (console), see its log file")
        return
    promql = "sum by (http_route) (rate(http_server_request_duration_seconds_count[1m]))"
    query = f"{backend}/api/v1/query?query={urllib.parse.quote(promql)}"
    traces = f"{backend}/api/v1/traces?service=demo-shop&limit=5"
    logs = f"{backend}/api/v1/logs?service=demo-shop&limit=5"
    print(f"PromQL (scraped by tripod serve):  curl '{query}'")
    print(f"traces:                      curl '{traces}'")
    print(f"logs:                        curl '{logs}'")
    items = get_json(traces, "traces")
    if items:
        first = items[0]
        trace_id = first.get("trace_id") if isinstance(first, dict) else None
        print(f"a trace:                     curl {backend}/api/v1/traces/{trace_id}")
        print(f"its logs:                    curl '{backend}/api/v1/logs?trace_id={trace_id}'")
        print("  " + json.dumps(first)[:300])
    else:
        print("(no traces stored yet: they arrive within a few seconds)")
    entries = get_json(logs, "logs")
    if entries:
        print("  a log record: " + json.dumps(entries[0])[:300])
    for item in get_json(query, "result")[:5]:
        print(f"  {item.get('metric', {})} -> {item.get('value')}")
    groups = get_json(f"{backend}/api/v1/rules", "groups")
    rules = sum(len(g.get("rules", [])) for g in groups if isinstance(g, dict))
    print(f"rules:                       curl {backend}/api/v1/rules   "
          f"({len(groups)} groups, {rules} rules loaded)")  # fmt: skip
    alerts = get_json(f"{backend}/api/v1/alerts", "alerts")
    print(f"alerts:                      curl {backend}/api/v1/alerts   ({len(alerts)} active)")
    for alert in alerts[:5]:
        labels = alert.get("labels", {}) if isinstance(alert, dict) else {}
        print(f"  {labels.get('alertname')} {alert.get('state')} {labels}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the tripod demo.")
    parser.add_argument(
        "--duration", type=float, default=None, help="stop after SECONDS (default: until Ctrl-C)"
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".tripod" / "demo")
    args = parser.parse_args()
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)

    shop_port = free_port()
    shop = f"http://127.0.0.1:{shop_port}"
    deploy = generate_stack(data_dir)
    sink, webhook = start_webhook_sink()
    backend_proc, backend = start_backend(data_dir, shop_port, deploy, webhook)
    env = {"OTEL_SERVICE_NAME": "demo-shop", "DEMO_DOWNSTREAM_URL": shop,
           "TRIPOD_SHUTDOWN_TIMEOUT": "3"}  # fmt: skip
    if backend_proc is not None:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = backend
        print(f"tripod serve:  {backend}  (data in {data_dir / 'store'})")
    else:
        env["DEMO_CONSOLE_SPANS"] = "1"
        print(f"tripod serve did not start (see {data_dir / 'serve.log'}); "
              "falling back to printing spans to the console")  # fmt: skip
    shop_log = data_dir / "demo-shop.log"
    shop_proc = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "examples.demo_service:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(shop_port),
            "--no-access-log",
        ],
        shop_log,
        env,
    )
    try:
        if not wait_ready(shop_proc, shop + "/health"):
            print(f"the demo shop did not start; its output is in {shop_log}")
            return 1
        print(f"demo shop:     {shop}  (JSON logs in {shop_log})")
        deadline = None if args.duration is None else time.monotonic() + args.duration
        rounds = 0
        with httpx.Client(timeout=10.0) as client:
            while deadline is None or time.monotonic() < deadline:
                counts = traffic(client, shop)
                rounds += 1
                print(f"traffic round {rounds}: {counts}", flush=True)
                if rounds in (3, 30) or rounds % 300 == 0:
                    show_pillars(None if backend_proc is None else backend, shop)
                time.sleep(1.0)
        if backend_proc is not None:
            wait_for_data(backend)
        show_pillars(None if backend_proc is None else backend, shop)
        print("\nlast log lines of the shop:")
        for line in shop_log.read_text(errors="replace").splitlines()[-3:]:
            print("  " + line[:300])
    except KeyboardInterrupt:
        print("\nstopping")
    finally:
        stop(shop_proc)
        stop(backend_proc)
        sink.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
