"""The generated files, proven by the tools that consume them: Debian's promtool 2.42
(check config, check rules, test rules) and amtool 0.25 (check-config), on both examples."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.codegen.conftest import NAMES, Generated, needs
from tripod.codegen._prometheus import (
    CONFIG,
    KUBERNETES_CONFIG,
    rules_path,
    slo_rules_path,
    slo_unit_tests_path,
    unit_tests_path,
)
from tripod.codegen._yamlio import dump, load_strict

pytestmark = pytest.mark.prometheus


def _run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@needs("promtool")
@pytest.mark.parametrize("name", NAMES)
def test_promtool_check_config_and_rules(generated: dict[str, Generated], name: str) -> None:
    g = generated[name]
    done = _run("promtool", "check", "config", CONFIG, cwd=g.out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 2 rule files found" in done.stdout
    done = _run("promtool", "check", "rules", rules_path(g.svc), slo_rules_path(g.svc), cwd=g.out)
    assert done.returncode == 0, done.stdout + done.stderr


@needs("promtool")
@pytest.mark.parametrize("name", NAMES)
def test_kubernetes_variant_relabeling_checks(generated: dict[str, Generated], name: str) -> None:
    """Debian builds Prometheus without Kubernetes discovery, so promtool refuses
    ``kubernetes_sd_configs``; the relabeling and everything else is checked with the discovery
    block swapped for an empty static one."""
    g = generated[name]
    data = load_strict((g.out / KUBERNETES_CONFIG).read_text())
    jobs = [j for j in data["scrape_configs"] if "kubernetes_sd_configs" in j]
    assert len(jobs) == 1
    assert jobs[0]["kubernetes_sd_configs"] == [
        {"role": "pod", "namespaces": {"names": [g.svc.namespace]}}
    ]
    del jobs[0]["kubernetes_sd_configs"]
    jobs[0]["static_configs"] = [{"targets": []}]
    swapped = g.out / "prometheus" / "kubernetes-check.yml"
    swapped.write_bytes(dump(data, "test"))
    try:
        done = _run("promtool", "check", "config", swapped.name, cwd=swapped.parent)
    finally:
        swapped.unlink()
    assert done.returncode == 0, done.stdout + done.stderr


@needs("promtool")
@pytest.mark.parametrize("name", NAMES)
def test_generated_unit_tests_pass(generated: dict[str, Generated], name: str) -> None:
    g = generated[name]
    tests = g.out / unit_tests_path(g.svc)
    slo = g.out / slo_unit_tests_path(g.svc)
    done = _run("promtool", "test", "rules", tests.name, slo.name, cwd=tests.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == 2


def _break(tmp_path: Path, g: Generated, rel: str, old: str, new: str) -> Path:
    """A copy of the output with one rule changed."""
    copy = tmp_path / "broken"
    shutil.copytree(g.out / "prometheus", copy / "prometheus")
    path = copy / rel
    text = path.read_text()
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new))
    return copy


@needs("promtool")
def test_a_broken_rule_fails_the_unit_tests(
    generated: dict[str, Generated], tmp_path: Path
) -> None:
    g = generated["shop"]
    # TargetDown that looks for a value `up` never has: its firing case must fail.
    copy = _break(tmp_path, g, rules_path(g.svc), 'up{job="shop"} == 0', 'up{job="shop"} == 2')
    tests = copy / unit_tests_path(g.svc)
    done = _run("promtool", "test", "rules", tests.name, cwd=tests.parent)
    assert done.returncode == 1
    report = done.stdout + done.stderr
    assert "FAILED" in report
    failed = set(re.findall(r"alertname: (\w+)", report))
    assert failed == {"ShopTargetDown"}


@needs("promtool")
def test_a_slower_page_fails_the_burn_test(generated: dict[str, Generated], tmp_path: Path) -> None:
    """The page tier at 20x instead of the workbook's 14.4x misses the predicted minute."""
    g = generated["shop"]
    copy = _break(tmp_path, g, slo_rules_path(g.svc), "(14.4 * 0.001)", "(20 * 0.001)")
    tests = copy / slo_unit_tests_path(g.svc)
    done = _run("promtool", "test", "rules", tests.name, cwd=tests.parent)
    assert done.returncode == 1
    report = done.stdout + done.stderr
    failed = set(re.findall(r"alertname: (\w+), time: (\w+)", report))
    # Only the minute after the workbook's prediction fails: the alert is late.
    assert failed == {("ShopAvailabilityErrorBudgetBurn", "6h26m")}


@needs("amtool")
@pytest.mark.parametrize("name", NAMES)
def test_amtool_check_config(generated: dict[str, Generated], name: str) -> None:
    g = generated[name]
    done = _run("amtool", "check-config", "alertmanager/alertmanager.yml", cwd=g.out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@needs("vmalert")
@pytest.mark.parametrize("name", NAMES)
def test_rules_load_into_vmalert(generated: dict[str, Generated], name: str) -> None:
    """VictoriaMetrics' ruler (Debian's vmalert) accepts the same rule files."""
    g = generated[name]
    rules = [f"-rule={r}" for r in (rules_path(g.svc), slo_rules_path(g.svc))]
    done = _run("vmalert", "-dryRun", *rules, cwd=g.out)
    assert done.returncode == 0, done.stdout + done.stderr


@needs("vmalert")
def test_vmalert_refuses_a_broken_rule(generated: dict[str, Generated], tmp_path: Path) -> None:
    g = generated["shop"]
    copy = _break(tmp_path, g, rules_path(g.svc), 'up{job="shop"} == 0', 'up{job="shop"} == (0')
    done = _run("vmalert", "-dryRun", f"-rule={rules_path(g.svc)}", cwd=copy)
    assert done.returncode != 0


@needs("amtool")
@pytest.mark.parametrize(
    ("name", "labels", "receivers"),
    [
        ("shop", ["severity=critical"], "commerce-pagerduty,commerce-slack"),
        ("shop", ["severity=warning"], "commerce-slack"),
        ("shop", ["severity=info"], "commerce-email"),
        ("worker", ["severity=critical"], "fulfilment-oncall"),
        ("worker", ["severity=warning"], "fulfilment-hook"),
    ],
)
def test_amtool_routes_each_severity_to_its_receivers(
    generated: dict[str, Generated], name: str, labels: list[str], receivers: str
) -> None:
    g = generated[name]
    own = [f"team={g.svc.team}", f"service={g.svc.service}", "alertname=X", *labels]
    config = "--config.file=alertmanager/alertmanager.yml"
    done = _run("amtool", "config", "routes", "test", config, *own, cwd=g.out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == receivers
    # Another team's alert, or an unrouted one, never pages this team's on-call.
    done = _run(
        "amtool", "config", "routes", "test", config, "team=x", "severity=critical", cwd=g.out
    )
    assert "pagerduty" not in done.stdout
    assert "oncall" not in done.stdout
