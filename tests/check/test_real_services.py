"""``tripod check`` on three real open-source services, as published on PyPI (source
distributions downloaded into a temporary folder and unpacked). Every finding and its verdict is
listed in docs/check.md ("On real services"); this test pins them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from tripod.check import Options, Severity, run

SERVICES = ("flower==2.2.0", "httpbin==0.10.4", "mlserver==1.7.1")


#: Downloads are kept between runs (pip builds each sdist's metadata in an isolated
#: environment, which takes tens of seconds); delete the folder to fetch them again.
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tripod" / "check-sdists"


def _download(specs: list[str]) -> None:
    """``pip download`` of each sdist, in parallel, into CACHE."""
    CACHE.mkdir(parents=True, exist_ok=True)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--quiet",
                "--dest",
                str(CACHE),
                spec,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for spec in specs
    ]
    for spec, proc in zip(specs, procs, strict=True):
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"pip download {spec}: {err}"


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    archives = {s: CACHE / (s.replace("==", "-") + ".tar.gz") for s in SERVICES}
    _download([s for s, a in archives.items() if not a.is_file()])
    where = tmp_path_factory.mktemp("sdists")
    out: dict[str, Path] = {}
    for spec, archive in archives.items():
        with tarfile.open(archive) as tar:
            tar.extractall(where, filter="data")
        name = spec.partition("==")[0]
        out[name] = where / archive.name.removesuffix(".tar.gz")
    return out


def _findings(root: Path) -> list[tuple[str, str, int, Severity]]:
    report = run([root], Options())
    return [
        (f.rule, Path(f.path).resolve().relative_to(root).as_posix(), f.line, f.severity)
        for f in report.findings
    ]


def test_flower_celery_monitor_is_clean(unpacked: dict[str, Path]) -> None:
    # its prometheus_client metrics are all recorded, with bounded labels (worker, task type)
    assert _findings(unpacked["flower"]) == []


def test_httpbin_routes_are_uninstrumented(unpacked: dict[str, Path]) -> None:
    root = unpacked["httpbin"]
    found = _findings(root)
    core = (root / "httpbin" / "core.py").read_text()
    routes = [i + 1 for i, line in enumerate(core.splitlines()) if re.match(r"@app\.route\(", line)]
    coverage = [line for rule, path, line, _ in found if rule == "coverage"]
    assert coverage == routes
    assert len(routes) > 50
    rest = [(rule, path, line) for rule, path, line, _ in found if rule != "coverage"]
    assert rest == [
        ("swallowed-exception", "httpbin/helpers.py", 411),
        ("swallowed-exception", "httpbin/helpers.py", 416),
    ]


def test_mlserver_has_no_bug_level_finding(unpacked: dict[str, Path]) -> None:
    found = _findings(unpacked["mlserver"])
    assert [f for f in found if f[3] >= Severity.BUG] == []
    assert Counter(rule for rule, *_ in found) == {"log-fstring": 69, "cardinality-kwargs": 1}
    assert ("cardinality-kwargs", "mlserver/metrics/context.py", 52, Severity.WARNING) in found
