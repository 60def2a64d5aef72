"""``request_overhead.py``'s main figure: real servers, a real receiver, load from outside.

See ``request_overhead.py`` for the method; the served side is ``overhead_servers.py``.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
VARIANTS = ("bare", "tripod", "usual")
_TICK = os.sysconf("SC_CLK_TCK")
EXPORT_SETTLE_S = 1.5  # both stacks export at least once a second (tripod 1 s, OTel 5 s max)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_cpu(root: int) -> float:
    """User + system CPU seconds of ``root`` and its descendants (from /proc)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICK
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def start_server(kind: str, variant: str, endpoint: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    # BENCH_TRIPOD_SRC: another checkout's src, to measure tripod before/after a change.
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("BENCH_TRIPOD_SRC", "")) if p)
    env = {**os.environ, "BENCH_VARIANT": variant, "PYTHONPATH": path,
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"{endpoint}/{kind}-{variant}"}  # fmt: skip
    if kind == "asgi":
        argv = [sys.executable, "-m", "uvicorn", "--factory", "overhead_servers:make_asgi",
                "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                "--log-level", "warning"]  # fmt: skip
    else:
        # One worker shares nothing: tripod's multi-process metric files (on by default under
        # gunicorn) would be measured against a prometheus_client in single-process mode.
        # docs/benchmarks.md's multi-process section compares the -w 4 setups.
        env["TRIPOD_MULTIPROC_DIR"] = "off"
        argv = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "2", "-w", "1",
                "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                "overhead_servers:make_wsgi()"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=HERE, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/items/1")
    return proc, url


def drive(url: str, n: int) -> float:
    """Mean latency in µs of ``n`` sequential keep-alive GETs sent by a separate process."""
    out = subprocess.run(
        [sys.executable, str(HERE / "overhead_servers.py"), "load", url, str(n)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.strip())


def _fmt(values: list[float]) -> str:
    return f"{min(values):.0f} / {statistics.median(values):.0f}"


def measure(kind: str, endpoint: str, n: int, rounds: int) -> None:
    servers = {v: start_server(kind, v, endpoint) for v in VARIANTS}
    try:
        for _proc, url in servers.values():
            drive(url, max(200, n // 5))  # warm-up
        time.sleep(EXPORT_SETTLE_S)
        wall: dict[str, list[float]] = {v: [] for v in VARIANTS}
        cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for r in range(rounds):
            order = VARIANTS[r % 3 :] + VARIANTS[: r % 3]
            for variant in order:
                proc, url = servers[variant]
                before = tree_cpu(proc.pid)
                wall[variant].append(drive(url, n))
                time.sleep(EXPORT_SETTLE_S)
                cpu[variant].append((tree_cpu(proc.pid) - before) / n * 1e6)
    finally:
        for proc, _url in servers.values():
            proc.terminate()
        for proc, _url in servers.values():
            proc.wait(20)
    for label, data in (("wall-clock latency", wall), ("server CPU", cpu)):
        added_t = [t - b for t, b in zip(data["tripod"], data["bare"], strict=True)]
        added_u = [u - b for u, b in zip(data["usual"], data["bare"], strict=True)]
        ratios = [t / u for t, u in zip(added_t, added_u, strict=True) if u > 0]
        med = {v: statistics.median(data[v]) for v in VARIANTS}
        of_medians = (med["tripod"] - med["bare"]) / (med["usual"] - med["bare"])
        print(f"{kind} {label} µs/request (min / median of {rounds} rounds): "
              f"bare {_fmt(data['bare'])}, tripod {_fmt(data['tripod'])}, "
              f"usual {_fmt(data['usual'])}; added: tripod {_fmt(added_t)}, "
              f"usual {_fmt(added_u)}; ratio min {min(ratios):.2f} median "
              f"{statistics.median(ratios):.2f}, of the medians {of_medians:.2f} "
              "(target <= 0.20)")  # fmt: skip


def run_real(n: int, rounds: int) -> None:
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, str(HERE / "overhead_servers.py"), "receiver", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{endpoint}/stats")
        print(f"{n} requests per round, load average {os.getloadavg()[0]:.1f}")
        measure("asgi", endpoint, n, rounds)
        measure("wsgi", endpoint, n, rounds)
        with urllib.request.urlopen(f"{endpoint}/stats") as response:
            stats = json.load(response)
        for path, (calls, size) in sorted(stats.items()):
            print(f"receiver {path}: {calls} requests, {size / 1e6:.1f} MB")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        receiver.terminate()
        receiver.wait(10)
