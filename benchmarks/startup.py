"""Start-up: ``import tripod`` + ``tripod.init()`` as a whole process, against its yardsticks.

Each variant is a fresh ``python -c`` process, timed from outside (wall-clock, and user + system
CPU of the finished child from ``os.wait4``); the variants run in turn, round after round, so a
load change on the machine hits all of them. Prints min / median / max per variant and the
paired ratio of the medians.

    .venv/bin/python benchmarks/startup.py [--rounds 15] [--base-src DIR] [--instructions]

``--base-src`` adds the same ``import tripod; tripod.init()`` run against another checkout's
``src`` (``git worktree add /tmp/base <commit>``; ``--base-src /tmp/base/src``), for before/after.
Run it from a directory without a ``pyproject.toml`` unless you want ``[tool.tripod]`` read too.
``--instructions`` also runs each variant once under valgrind's callgrind and prints the
instructions it executed: a figure the load of a shared machine does not change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

VARIANTS = {
    "bare python": "pass",
    "import opentelemetry.sdk.trace": "import opentelemetry.sdk.trace",
    "tripod: import + init()": "import tripod; tripod.init(service_name='x')",
    "tripod: import + init(), OTLP endpoint set": (
        "import tripod; tripod.init(service_name='x', otlp_endpoint='http://127.0.0.1:4318')"
    ),
    # What a web app pays before its first request: instrument() imports the WSGI middleware,
    # the request-path helpers and the health endpoints, which init() alone does not need.
    "tripod: import + init() + instrument(WSGI app)": (
        "import tripod; tripod.init(service_name='x'); "
        "tripod.instrument(lambda environ, start_response: [])"
    ),
}


def child_env(pythonpath: str = "") -> dict[str, str]:
    """The children's environment: bytecode is cached as in a deployed app.

    With ``PYTHONDONTWRITEBYTECODE`` set (as in this project's shell) a module whose ``.pyc`` is
    missing or older than its source is compiled on every run: a fresh checkout, or any file
    edited since, would measure the compiler, not the import. The warm-up run writes them.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def run_once(code: str, pythonpath: str = "") -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``python -c code``."""
    env = child_env(pythonpath)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        msg = f"{code!r} exited with {proc.returncode}"
        raise SystemExit(msg)
    return wall, usage.ru_utime + usage.ru_stime


def count_instructions(code: str, pythonpath: str = "") -> int:
    """Instructions one ``python -c code`` executes (its user-space ``Ir`` under callgrind)."""
    env = child_env(pythonpath)
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={tmp}/out",
                sys.executable,
                "-c",
                code,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    refs = next(line for line in out.stderr.splitlines() if "refs:" in line)
    return int(refs.rsplit(":", 1)[1].strip().replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--base-src", default="", help="another checkout's src directory")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each variant's instructions once under valgrind (load-independent)",
    )
    args = parser.parse_args()
    variants = {name: (code, "") for name, code in VARIANTS.items()}
    if args.base_src:
        variants["tripod before: import + init()"] = (
            VARIANTS["tripod: import + init()"],
            args.base_src,
        )
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    load_before = os.getloadavg()[0]
    for code, path in variants.values():  # warm the page cache, write missing bytecode
        run_once(code, path)
    for _ in range(args.rounds):
        for name, (code, path) in variants.items():
            times[name].append(run_once(code, path))
    load_after = os.getloadavg()[0]
    print(f"{args.rounds} rounds, load average {load_before:.1f} before, {load_after:.1f} after")
    print(f"{'variant':48} {'wall ms min/median/max':>26} {'CPU ms min/median/max':>26}")
    for name, runs in times.items():
        walls = sorted(w * 1000 for w, _ in runs)
        cpus = sorted(c * 1000 for _, c in runs)
        print(
            f"{name:48} {walls[0]:8.0f} {statistics.median(walls):8.0f} {walls[-1]:8.0f} "
            f"{cpus[0]:8.0f} {statistics.median(cpus):8.0f} {cpus[-1]:8.0f}"
        )
    anchor = statistics.median(c for _, c in times["import opentelemetry.sdk.trace"])
    bare = statistics.median(c for _, c in times["bare python"])
    print("CPU median ÷ `import opentelemetry.sdk.trace`, and above bare python ÷ the same:")
    for name, runs in times.items():
        cpu = statistics.median(c for _, c in runs)
        print(f"{name:48} {cpu / anchor:6.2f} {(cpu - bare) / (anchor - bare):6.2f}")
    if args.instructions:
        print("instructions (millions, valgrind --tool=callgrind, whole process):")
        for name, (code, path) in variants.items():
            print(f"{name:48} {count_instructions(code, path) / 1e6:8.0f}")
    if args.base_src:
        before = statistics.median(c for _, c in times["tripod before: import + init()"])
        after = statistics.median(c for _, c in times["tripod: import + init()"])
        print(f"tripod after ÷ before (CPU medians): {after / before:.2f}")


if __name__ == "__main__":
    main()
