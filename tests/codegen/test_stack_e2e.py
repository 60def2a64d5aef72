"""The production path for real: the generated prometheus.yml and rules run in Debian's
Prometheus 2.42, scraping the demo service (uvicorn, instrumented by tripod). An error burst
makes the generated SLO page alert fire; it reaches a real Alertmanager 0.25 running the
generated alertmanager.yml, which routes it to a webhook receiver in the test. Prometheus's
remote write (generated `remote_write:`) lands scraped and recorded series in Debian's
VictoriaMetrics. tripod's own rule engine (`tripod test rules`) passes the same generated unit
tests as promtool."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.codegen.conftest import Generated
from tests.helpers.procs import Proc, free_port, start_prometheus
from tests.server.notify.sinks import HttpSink, alertmanager, poll
from tripod.codegen import load_service, render, write

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]
ROOT = Path(__file__).resolve().parents[2]
ALERT = "E2eShopAvailabilityErrorBudgetBurn"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Proc]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "examples.demo_service:app", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    env = {
        "PYTHONPATH": str(ROOT),
        "OTEL_SERVICE_NAME": "e2e-shop",
        "TRIPOD_TRACES_ENABLED": "false",
        "TRIPOD_LOGS_ENABLED": "false",
        "TRIPOD_SHUTDOWN_TIMEOUT": "2",
    }
    with Proc(argv, f"http://127.0.0.1:{port}", tmp_path / "shop.log", env=env) as proc:
        proc.wait_ready("/health")
        yield proc


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[Proc]:
    """Debian's single-node VictoriaMetrics, showing samples as soon as they arrive."""
    binary = shutil.which("victoria-metrics")
    if binary is None:
        pytest.fail("Debian's victoria-metrics is not installed: run `make setup`")
    port = free_port()
    argv = [binary, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={tmp_path / 'vm'}",
            "-retentionPeriod=1d", "-search.latencyOffset=0s", "-loggerLevel=ERROR"]  # fmt: skip
    with Proc(argv, f"http://127.0.0.1:{port}", tmp_path / "vm.log") as proc:
        proc.wait_ready("/health")
        yield proc


def _description(shop: Proc, am_port: int, hook: str, vm: Proc) -> dict[str, Any]:
    return {
        "service": "e2e-shop",
        "team": "e2e",
        "runbook_url": "https://runbooks.example.com/e2e-shop",
        "targets": [shop.url.removeprefix("http://")],
        "scrape_interval": "1s",
        "evaluation_interval": "1s",
        "alertmanagers": [f"127.0.0.1:{am_port}"],
        "remote_write": [f"{vm.url}/api/v1/write"],
        "slos": [{"name": "availability", "objective": 99.9, "ticket": False}],
        "receivers": [{"name": "hook", "severities": ["critical"], "webhook": {"url": hook}}],
    }


def _firing(url: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{url}/api/v1/alerts", timeout=5.0).json()
    return [
        a
        for a in body["data"]["alerts"]
        if a["labels"].get("alertname") == ALERT and a["state"] == "firing"
    ]


def test_error_burst_pages_through_prometheus_and_alertmanager(
    tmp_path: Path, shop: Proc, victoria: Proc
) -> None:
    with HttpSink() as hook:
        # Alertmanager's port first: the generated prometheus.yml points at it.
        am_dir = tmp_path / "am"
        am_port_probe = free_port()
        desc = _description(shop, am_port_probe, hook.url + "/hook", victoria)
        (tmp_path / "tripod.yaml").write_text(yaml.safe_dump(desc))
        deploy = tmp_path / "deploy"
        write(render(load_service(tmp_path)), deploy)
        am_yaml = (deploy / "alertmanager" / "alertmanager.yml").read_text()
        with alertmanager(am_dir, am_yaml) as am:
            prom_yaml = (deploy / "prometheus" / "prometheus.yml").read_text()
            prom_yaml = prom_yaml.replace(f"127.0.0.1:{am_port_probe}", am.url[len("http://") :])
            with start_prometheus(deploy / "prometheus", prom_yaml) as prom:
                # Healthy traffic, then an error burst: far above 14.4x a 0.1% budget.
                with httpx.Client(base_url=shop.url, timeout=5.0) as client:
                    for _ in range(20):
                        assert client.get("/health").status_code == 200
                    poll(lambda: _up(prom.url), timeout=60)

                    def burst_and_check() -> list[dict[str, Any]]:
                        _boom(shop.url, 10)
                        return _firing(prom.url)

                    alerts = poll(burst_and_check, timeout=120)
                assert alerts[0]["labels"]["severity"] == "critical"
                assert alerts[0]["labels"]["burn_tier"] == "page"
                bodies = poll(hook.bodies, timeout=120)
                assert bodies[0]["receiver"] == "hook"
                names = {a["labels"]["alertname"] for a in bodies[0]["alerts"]}
                assert names == {ALERT}
                labels = bodies[0]["alerts"][0]["labels"]
                assert labels["service"] == "e2e-shop"
                assert labels["slo"] == "availability"
                runbook = bodies[0]["alerts"][0]["annotations"]["runbook_url"]
                assert runbook == f"https://runbooks.example.com/e2e-shop/{ALERT}.md"
                # The scale-out path: scraped and recorded series reach VictoriaMetrics.
                for query in (
                    'http_server_request_duration_seconds_count{job="e2e-shop"}',
                    'slo:sli_error:ratio_rate5m{service="e2e-shop"} > 0',
                ):
                    poll(lambda q=query: _vm_query(victoria.url, q), timeout=120)


def _vm_query(url: str, query: str) -> bool:
    body = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=5.0).json()
    return bool(body["data"]["result"])


def _up(url: str) -> bool:
    body = httpx.get(f"{url}/api/v1/query", params={"query": 'up{job="e2e-shop"}'}, timeout=5.0)
    result = body.json()["data"]["result"]
    return bool(result) and result[0]["value"][1] == "1"


def _boom(url: str, count: int) -> None:
    """Requests answered 500 by the demo's failing route; a fresh connection each, since the
    server drops a connection whose request raised."""
    for _ in range(count):
        assert httpx.get(f"{url}/boom", timeout=5.0).status_code == 500


def test_tripod_rule_engine_passes_the_generated_unit_tests(
    generated: dict[str, Generated],
) -> None:
    g = generated["shop"]
    tests = g.out / "prometheus" / "tests"
    argv = [sys.executable, "-m", "tripod", "test", "rules", "shop.test.yml", "shop-slo.test.yml"]
    done = subprocess.run(argv, cwd=tests, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == 2


def test_real_alertmanager_applies_the_generated_inhibitions(tmp_path: Path) -> None:
    """Critical inhibits warning of the same alert and service, an SLO page its ticket, and
    ``<P>Absent`` the per-target alerts, in Alertmanager 0.25 running the generated file."""
    with HttpSink() as hook:
        desc = {
            "service": "inhib",
            "team": "t",
            "runbook_url": "https://r.example",
            "slos": [{"name": "availability", "objective": 99.9}],
            "receivers": [{"name": "hook", "webhook": {"url": hook.url + "/hook"}}],
        }
        (tmp_path / "tripod.yaml").write_text(yaml.safe_dump(desc))
        files = render(load_service(tmp_path), ["alertmanager"])
        with alertmanager(tmp_path / "am", files["alertmanager/alertmanager.yml"].decode()) as am:
            base = {"service": "inhib", "team": "t"}
            sent = [
                {"alertname": "InhibHighErrorRatio", "severity": "critical"},
                {"alertname": "InhibHighErrorRatio", "severity": "warning"},
                {"alertname": "InhibAvailabilityErrorBudgetBurn", "severity": "critical",
                 "slo": "availability", "burn_tier": "page"},
                {"alertname": "InhibAvailabilityErrorBudgetBurn", "severity": "warning",
                 "slo": "availability", "burn_tier": "ticket"},
                # Same severity on both tiers: only the burn-tier rule holds the ticket back.
                {"alertname": "InhibFastErrorBudgetBurn", "severity": "info",
                 "slo": "fast", "burn_tier": "page"},
                {"alertname": "InhibFastErrorBudgetBurn", "severity": "info",
                 "slo": "fast", "burn_tier": "ticket"},
                {"alertname": "InhibAbsent", "severity": "critical"},
                {"alertname": "InhibTargetDown", "severity": "warning", "instance": "a:1"},
                {"alertname": "InhibLatencyP95", "severity": "warning"},
            ]  # fmt: skip
            body = [{"labels": {**base, **labels}} for labels in sent]
            httpx.post(f"{am.url}/api/v2/alerts", json=body, timeout=5.0).raise_for_status()

            def states() -> dict[tuple[str, str], str] | None:
                got = httpx.get(f"{am.url}/api/v2/alerts", timeout=5.0).json()
                table = {
                    (
                        a["labels"]["alertname"],
                        a["labels"].get("burn_tier", a["labels"]["severity"]),
                    ): a["status"]["state"]
                    for a in got
                }
                return table if len(table) == len(sent) else None

            table = poll(states, timeout=30)
            assert table == {
                ("InhibHighErrorRatio", "critical"): "active",
                ("InhibHighErrorRatio", "warning"): "suppressed",
                ("InhibAvailabilityErrorBudgetBurn", "page"): "active",
                ("InhibAvailabilityErrorBudgetBurn", "ticket"): "suppressed",
                ("InhibFastErrorBudgetBurn", "page"): "active",
                ("InhibFastErrorBudgetBurn", "ticket"): "suppressed",
                ("InhibAbsent", "critical"): "active",
                ("InhibTargetDown", "warning"): "suppressed",
                ("InhibLatencyP95", "warning"): "active",
            }
