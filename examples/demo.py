"""`make demo`: tripod serve with its web UI, a demo shop of two services and a worker, and
traffic a person can watch.

Prints the UI's URL first. Then generates the shop's production files with ``tripod generate``
(rules, alerts, SLOs, dashboards, runbooks from ``examples/generate/demo-shop/tripod.yaml``) and
starts, each in its own process:

- ``tripod serve`` (the UI at its root URL) evaluating those rules plus
  ``examples/demo-rules.yml``, showing the generated dashboards, scraping both services'
  ``/metrics`` (OpenMetrics, with trace-id exemplars) and receiving their OTLP traces and logs;
  its built-in notifier posts to a webhook this script listens on;
- ``redis-server`` on a free port (the Celery broker);
- the Celery worker ``examples/demo_worker.py`` (``demo-worker``);
- ``examples/demo_inventory.py`` (``demo-inventory``) and ``examples/demo_service.py``
  (``demo-shop``) under uvicorn. A checkout is one trace over three processes: shop -> inventory
  over HTTP -> the worker's task through Redis.

Traffic: order reads, checkouts, a slow search (50-600 ms), 404s and about 2% errors. Every few
minutes (the first ~20 s after start) an incident makes the inventory slow and failing, the
demo's alert fires, and it resolves after the incident. Runs until Ctrl-C, SIGTERM, a closed
terminal, or ``--duration SECONDS``; every process it started is stopped. Without redis-server
there is no worker (said once); if the backend cannot start, the shop prints spans instead.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
from demo_procs import (  # examples/ is sys.path[0] when run as `python examples/demo.py`
    ROOT,
    Children,
    free_port,
    say,
    stop_on_signals,
    wait_port,
    wait_ready,
)

SHOP = "demo-shop"


class _WebhookSink(http.server.BaseHTTPRequestHandler):
    """Receives the built-in notifier's webhook posts (Alertmanager's JSON, version 4)."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.end_headers()
        with contextlib.suppress(ValueError):
            message = json.loads(body)
            names = sorted({a["labels"].get("alertname", "?") for a in message.get("alerts", [])})
            say(f"notification received: {message.get('status')} {', '.join(names)} "
                f"(receiver {message.get('receiver')})")  # fmt: skip

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
        say(f"tripod generate failed: {(result.stderr or result.stdout).strip()}")
        return None
    say(f"generated:     {out}  ({result.stdout.strip()})")
    return out


def start_backend(
    children: Children,
    data_dir: Path,
    *,
    port: int,
    targets: dict[str, int],
    deploy: Path | None,
    webhook: str,
) -> bool:
    jobs = "".join(
        f"  - job_name: {job}\n    scrape_interval: 2s\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
        for job, target in targets.items()
    )
    config = data_dir / "serve.yaml"
    config.write_text(f"global:\n  evaluation_interval: 5s\nscrape_configs:\n{jobs}")
    routing = data_dir / "alertmanager.yml"
    routing.write_text(
        "route:\n  receiver: demo-webhook\n  group_by: [alertname, service]\n"
        "  group_wait: 5s\n  group_interval: 30s\n  repeat_interval: 1h\n"
        "receivers:\n  - name: demo-webhook\n    webhook_configs:\n"
        f"      - url: {webhook}\n        send_resolved: true\n"
    )
    argv = [sys.executable, "-m", "tripod", "serve", "--data-dir", str(data_dir / "store"),
            "--host", "127.0.0.1", "--port", str(port), "--config", str(config),
            "--rules", str(ROOT / "examples" / "demo-rules.yml"),
            "--alertmanager-config", str(routing)]  # fmt: skip
    if deploy is not None:
        argv += ["--rules", str(deploy / "prometheus" / "rules" / "*.yml")]
        argv += ["--dashboards", str(deploy / "grafana" / "dashboards")]
    proc = children.start(argv, data_dir / "serve.log")
    return wait_ready(proc, f"http://127.0.0.1:{port}/-/ready")


def start_worker(children: Children, data_dir: Path, env: dict[str, str]) -> str | None:
    """Redis on a free port and the Celery worker; the broker URL, or None without Redis."""
    redis = shutil.which("redis-server")
    if redis is None:
        say("redis-server not found: no background worker (install it, or run `make demo`)")
        return None
    port = free_port()
    proc = children.start([redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no"], data_dir / "redis.log")  # fmt: skip
    if not wait_port(proc, port):
        say(f"redis-server did not start (see {data_dir / 'redis.log'}): no background worker")
        return None
    broker = f"redis://127.0.0.1:{port}/0"
    argv = [sys.executable, "-m", "celery", "-A", "examples.demo_worker", "worker",
            "--pool", "solo", "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
            "--without-heartbeat"]  # fmt: skip
    worker_env = {**env, "OTEL_SERVICE_NAME": "demo-worker", "DEMO_BROKER_URL": broker}
    children.start(argv, data_dir / "demo-worker.log", worker_env)
    return broker


def start_service(
    children: Children, module: str, port: int, log: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "uvicorn", f"examples.{module}:app", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log"]  # fmt: skip
    return children.start(argv, log, env)


def traffic(client: httpx.Client, shop: str) -> dict[str, int]:
    """One round of requests (about 2% of them fail with 500); returns status code counts."""
    counts: dict[str, int] = {}
    calls: list[tuple[str, str]] = [
        ("GET", f"/orders/{random.randint(1, 500)}"),
        ("GET", f"/orders/{random.randint(1, 500)}"),
        ("GET", f"/orders/{random.randint(1, 500)}"),
        ("POST", f"/checkout?sku=sku-{random.randint(1, 9)}"),
    ]
    if random.random() < 0.3:
        calls.append(("GET", f"/search?q={random.choice(['lamp', 'chair', 'desk', 'rug'])}"))
    if random.random() < 0.1:
        calls.append(("GET", "/orders/0"))
    if random.random() < 0.09:
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
        traces = get_json(f"{backend}/api/v1/traces?service={SHOP}&limit=1", "traces")
        scraped = get_json(f"{backend}/api/v1/query?query={urllib.parse.quote(promql)}", "result")
        if traces and scraped:
            return
        time.sleep(0.5)


def show_pillars(backend: str | None, shop: str) -> None:
    say("\n=== the three pillars ===")
    say(f"metrics (Prometheus text):   curl {shop}/metrics")
    if backend is None:
        say("traces and logs:             printed by the shop (console), see its log file")
        return
    promql = "sum by (http_route) (rate(http_server_request_duration_seconds_count[1m]))"
    query = f"{backend}/api/v1/query?query={urllib.parse.quote(promql)}"
    traces = f"{backend}/api/v1/traces?service={SHOP}&limit=5"
    logs = f"{backend}/api/v1/logs?service={SHOP}&limit=5"
    say(f"PromQL (scraped by tripod serve):  curl '{query}'")
    say(f"traces:                      curl '{traces}'")
    say(f"logs:                        curl '{logs}'")
    items = get_json(traces, "traces")
    if items:
        first = items[0]
        trace_id = first.get("trace_id") if isinstance(first, dict) else None
        say(f"a trace:                     curl {backend}/api/v1/traces/{trace_id}")
        say(f"  in the UI:                 {backend}/traces/{trace_id}")
        say(f"its logs:                    curl '{backend}/api/v1/logs?trace_id={trace_id}'")
        say("  " + json.dumps(first)[:300])
    else:
        say("(no traces stored yet: they arrive within a few seconds)")
    entries = get_json(logs, "logs")
    if entries:
        say("  a log record: " + json.dumps(entries[0])[:300])
    for item in get_json(query, "result")[:5]:
        say(f"  {item.get('metric', {})} -> {item.get('value')}")
    groups = get_json(f"{backend}/api/v1/rules", "groups")
    rules = sum(len(g.get("rules", [])) for g in groups if isinstance(g, dict))
    say(f"rules:                       curl {backend}/api/v1/rules   "
        f"({len(groups)} groups, {rules} rules loaded)")  # fmt: skip
    alerts = get_json(f"{backend}/api/v1/alerts", "alerts")
    say(f"alerts:                      curl {backend}/api/v1/alerts   ({len(alerts)} active)")
    for alert in alerts[:5]:
        labels = alert.get("labels", {}) if isinstance(alert, dict) else {}
        say(f"  {labels.get('alertname')} {alert.get('state')} {labels}")


class Incident:
    """The periodic incident: the inventory is slow and failing while ``flag`` exists."""

    def __init__(self, flag: Path, first_s: float, every_s: float, length_s: float) -> None:
        self.flag, self.first_s, self.every_s, self.length_s = flag, first_s, every_s, length_s
        self.started = time.monotonic()
        flag.unlink(missing_ok=True)

    def tick(self) -> None:
        elapsed = time.monotonic() - self.started - self.first_s
        active = elapsed >= 0 and elapsed % self.every_s < self.length_s
        if active and not self.flag.exists():
            self.flag.touch()
            say(f"incident: the inventory is slow and failing for {self.length_s:.0f} s "
                "(watch the alert DemoShopCheckoutErrors fire, then resolve)")  # fmt: skip
        elif not active and self.flag.exists():
            self.flag.unlink(missing_ok=True)
            say("incident over: the inventory is healthy again")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the tripod demo.")
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after SECONDS (default: until Ctrl-C)")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".tripod" / "demo")
    parser.add_argument("--port", type=int, default=0, help="tripod serve's port (0: a free one)")
    parser.add_argument("--incident-every", type=float, default=180.0, metavar="SECONDS")
    parser.add_argument("--incident-length", type=float, default=45.0, metavar="SECONDS")
    parser.add_argument("--first-incident", type=float, default=20.0, metavar="SECONDS")
    return parser.parse_args()


def main() -> int:
    args = _args()
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    stop_on_signals()
    port = args.port or free_port()
    backend = f"http://127.0.0.1:{port}"
    say(f"tripod UI:     {backend}/   (open it in a browser; starting...)")
    children = Children()
    sink, webhook = start_webhook_sink()
    try:
        args.backend = backend
        return _run(args, children, data_dir, webhook)
    except KeyboardInterrupt:
        say("\nstopping")
        return 0
    finally:
        children.stop_all()
        sink.shutdown()
        (data_dir / "incident").unlink(missing_ok=True)


def _run(args: argparse.Namespace, children: Children, data_dir: Path, webhook: str) -> int:
    port = int(urllib.parse.urlsplit(args.backend).port or 0)
    backend: str = args.backend
    shop_port, inventory_port = free_port(), free_port()
    shop = f"http://127.0.0.1:{shop_port}"
    deploy = generate_stack(data_dir)
    targets = {SHOP: shop_port, "demo-inventory": inventory_port}
    up = start_backend(
        children, data_dir, port=port, targets=targets, deploy=deploy, webhook=webhook
    )
    env = {"TRIPOD_SHUTDOWN_TIMEOUT": "3", "DEMO_INCIDENT_FILE": str(data_dir / "incident")}
    if up:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = backend
        say(f"tripod serve:  {backend}  (data in {data_dir / 'store'})")
    else:
        env["DEMO_CONSOLE_SPANS"] = "1"
        say(f"tripod serve did not start (see {data_dir / 'serve.log'}); "
            "falling back to printing spans to the console")  # fmt: skip
    broker = start_worker(children, data_dir, env)
    inventory_env = {**env, "OTEL_SERVICE_NAME": "demo-inventory"}
    if broker:
        inventory_env["DEMO_BROKER_URL"] = broker
    inventory = start_service(children, "demo_inventory", inventory_port,
                              data_dir / "demo-inventory.log", inventory_env)  # fmt: skip
    inventory_url = f"http://127.0.0.1:{inventory_port}"
    shop_env = {**env, "OTEL_SERVICE_NAME": SHOP, "DEMO_DOWNSTREAM_URL": inventory_url}
    shop_log = data_dir / "demo-shop.log"
    shop_proc = start_service(children, "demo_service", shop_port, shop_log, shop_env)
    ready = wait_ready(shop_proc, shop + "/health")
    if not (ready and wait_ready(inventory, inventory_url + "/health")):
        say(f"the demo shop did not start; its output is in {data_dir}")
        return 1
    say(f"demo shop:     {shop}  (JSON logs in {shop_log}; inventory :{inventory_port}"
        f"{', worker on Redis ' + broker if broker else ''})")  # fmt: skip
    say(f"\nOpen {backend}/ : dashboards, traces across three processes, logs, alerts.\n")
    incident = Incident(data_dir / "incident", args.first_incident, args.incident_every,
                        args.incident_length)  # fmt: skip
    deadline = None if args.duration is None else time.monotonic() + args.duration
    rounds = 0
    with httpx.Client(timeout=10.0) as client:
        while deadline is None or time.monotonic() < deadline:
            incident.tick()
            counts = traffic(client, shop)
            rounds += 1
            if rounds <= 3 or rounds % 60 == 0:
                say(f"traffic round {rounds}: {counts}")
            if rounds in (6, 60) or rounds % 600 == 0:
                show_pillars(backend if up else None, shop)
            time.sleep(0.5)
    if up:
        wait_for_data(backend)
    show_pillars(backend if up else None, shop)
    say("\nlast log lines of the shop:")
    for line in shop_log.read_text(errors="replace").splitlines()[-3:]:
        say("  " + line[:300])
    return 0


if __name__ == "__main__":
    sys.exit(main())
