"""``check`` and ``generate`` share one model: the catalog ``generate`` writes dashboards and rules
from is what ``check`` compares them with. Renaming a metric in a service's code leaves the
generated dashboard naming the old one, and ``check`` says so, with the new name as the hint.
Also: tripod dogfoods its own gate on ``src/tripod`` and ``examples``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tripod.check import Options, Severity, run
from tripod.cli import cli

ROOT = Path(__file__).resolve().parents[2]

APP = '''\
"""The shop's own metrics, with prometheus_client (no tripod SDK)."""

from prometheus_client import Counter, Gauge, Histogram

LATENCY = Histogram(
    "{name}", "Duration of HTTP server requests.",
    ["http_request_method", "http_route", "http_response_status_code"],
)
ACTIVE = Gauge("http_server_active_requests", "Requests in flight.", ["http_request_method"])
DROPPED = Counter("tripod_telemetry_dropped_total", "Dropped telemetry.", ["signal"])


def record(method: str, route: str, status: str, seconds: float) -> None:
    LATENCY.labels(method, route, status).observe(seconds)
    ACTIVE.labels(method).set(0)
    DROPPED.labels("spans").inc(0)
'''


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shop = tmp_path_factory.mktemp("svc") / "shop"
    shutil.copytree(ROOT / "examples" / "generate" / "shop", shop)
    (shop / "app.py").write_text(APP.format(name="http_server_request_duration_seconds"))
    result = CliRunner().invoke(cli, ["generate", str(shop), "--out", str(shop / "deploy")])
    assert result.exit_code == 0, result.output
    return shop


def _unknown(shop: Path) -> list[tuple[str, str]]:
    report = run([shop], Options(select=frozenset({"unknown-metric"})))
    return [(Path(f.path).relative_to(shop).as_posix(), f.hint) for f in report.findings]


def test_generated_files_match_the_code_then_a_rename_is_flagged(shop: Path) -> None:
    assert _unknown(shop) == []
    app = shop / "app.py"
    app.write_text(APP.format(name="http_server_duration_seconds"))
    try:
        found = _unknown(shop)
    finally:
        app.write_text(APP.format(name="http_server_request_duration_seconds"))
    files = {path for path, _ in found}
    assert "deploy/grafana/dashboards/shop.json" in files
    assert "deploy/prometheus/rules/shop.rules.yml" in files
    assert "slos.openslo.yaml" in files  # the description's own OpenSLO queries
    hints = {hint for _, hint in found}
    assert "did you mean http_server_duration_seconds_bucket?" in hints
    assert "did you mean http_server_duration_seconds_count?" in hints


def test_with_tripod_instrumenting_the_app_the_catalog_names_are_known(shop: Path) -> None:
    app = shop / "app.py"
    app.write_text("import tripod\n\ntripod.init(service_name='shop')\n")
    try:
        assert _unknown(shop) == []
    finally:
        app.write_text(APP.format(name="http_server_request_duration_seconds"))


def test_tripod_dogfoods_its_own_gate() -> None:
    report = run([ROOT / "src" / "tripod", ROOT / "examples"], Options())
    serious = [f for f in report.findings if f.severity >= Severity.BUG]
    assert serious == []
    assert report.python_lines > 30_000
