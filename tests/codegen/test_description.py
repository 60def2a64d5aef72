"""The service description: what it accepts, and one-line refusals (exit 2) that name the key,
the value and what was expected."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tripod.cli import cli
from tripod.codegen import GenerateError, load_service, parse_service
from tripod.config import load_settings

BASE: dict[str, Any] = {
    "service": "shop",
    "team": "commerce",
    "runbook_url": "https://runbooks.example.com/shop",
}


def _parse(**extra: Any) -> Any:
    return parse_service({**BASE, **extra}, source="test")


def _refusal(**extra: Any) -> str:
    with pytest.raises(GenerateError) as info:
        _parse(**extra)
    text = str(info.value)
    assert "\n" not in text
    return text


def test_defaults() -> None:
    svc = _parse()
    assert svc.job == "shop"
    assert svc.alert_prefix == "Shop"
    assert svc.targets == ("shop:8000",)
    assert svc.buckets[0] == 0.005
    assert svc.runbook("ShopTargetDown") == "https://runbooks.example.com/shop/ShopTargetDown.md"


def test_latency_threshold_must_be_a_bucket_and_the_nearest_are_named() -> None:
    text = _refusal(slos=[{"name": "fast", "kind": "latency", "threshold": 0.3}])
    assert text == (
        "slos[0].threshold = 0.3: expected a bucket of http_server_request_duration_seconds; "
        "nearest: 0.25 and 0.5"
    )
    assert _parse(slos=[{"kind": "latency", "threshold": 0.25}]).slos[0].threshold == 0.25


def test_inline_secrets_are_refused_without_echoing_them() -> None:
    receiver = {"name": "s", "slack": {"api_url": "https://hooks.example/SECRET", "channel": "#a"}}
    text = _refusal(receivers=[receiver])
    assert text.startswith("receivers[0].slack.api_url = '***': expected no inline secret")
    assert "api_url_file" in text
    assert "SECRET" not in text


@pytest.mark.parametrize(
    ("extra", "start"),
    [
        ({"slos": [{"objective": 101}]}, "slos[0].objective = 101: expected a number between 50"),
        ({"slos": [{"kind": "speed"}]}, "slos[0].kind = 'speed': expected one of availability"),
        ({"slos": [{"objective": 90}]}, "slos[0].objective = 90: expected above 93.06"),
        ({"slos": [{"page": {"severity": "page"}}]}, "slos[0].page.severity = 'page': expected"),
        ({"team": "Commerce Team"}, "team = 'Commerce Team': expected lowercase"),
        ({"runbook_url": "runbooks"}, "runbook_url = 'runbooks': expected an http(s) URL"),
        ({"scrape_interval": "15"}, "scrape_interval = '15': expected a Prometheus duration"),
        ({"colour": "red"}, "colour = 'red': expected one of the keys alert_prefix"),
        ({"alerts": {"disable": "all"}}, "alerts.disable = 'all': expected a list"),
        (
            {"alerts": {"error_ratio_warning": 0.3, "error_ratio_critical": 0.2}},
            "alerts.error_ratio_critical = 0.2: expected more than error_ratio_warning",
        ),
        ({"receivers": [{"name": "x"}]}, "receivers[0] = {'name': 'x'}: expected exactly one of"),
        (
            {"receivers": [{"name": "x", "email": {"to": "a@b"}}]},
            "receivers[0].email.from = None: expected a value (required for email)",
        ),
        ({"slos": [{}, {}]}, "slos[1].name = 'availability': expected a name no other SLO"),
        ({"targets": ["shop"]}, "targets[0] = 'shop': expected host:port"),
        ({"alertmanagers": ["http://am:9093"]}, "alertmanagers[0] = 'http://am:9093': expected"),
    ],
)
def test_refusals_name_key_value_and_expectation(extra: dict[str, Any], start: str) -> None:
    assert _refusal(**extra).startswith(start)


def test_disabling_an_unknown_alert_names_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "tripod.yaml").write_text(
        "service: shop\nteam: t\nrunbook_url: https://r.example\nalerts:\n  disable: [Nope]\n"
    )
    result = CliRunner().invoke(cli, ["generate", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    expected = (
        "tripod generate: alerts.disable[0] = 'Nope': expected one of Absent, HighErrorRatio, "
        "HighInFlightRequests, HighLatencyP95, HighLatencyP99, MetricsAbsent, TargetDown, "
        "TelemetryDropped"
    )
    assert result.output.strip().splitlines() == [expected]


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    (tmp_path / "tripod.yaml").write_text("service: a\nservice: b\n")
    with pytest.raises(GenerateError, match="duplicate key 'service' at line 2"):
        load_service(tmp_path)


def test_pyproject_generate_table_reads_service_and_buckets_from_tool_tripod(
    tmp_path: Path,
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        textwrap.dedent(
            """
            [tool.tripod]
            service_name = "billing"
            http_buckets = [0.1, 0.3, 1.0]

            [tool.tripod.generate]
            team = "money"
            runbook_url = "https://r.example/billing"
            slos = [{ name = "fast", kind = "latency", threshold = 0.3 }]
            """
        )
    )
    svc = load_service(tmp_path)
    assert svc.service == "billing"
    assert svc.buckets == (0.1, 0.3, 1.0)
    assert svc.source == "pyproject.toml [tool.tripod.generate]"
    # The SDK's reader of [tool.tripod] ignores the generate table.
    settings = load_settings(environ={}, pyproject=pyproject)
    assert settings.service_name == "billing"


def test_pyproject_threshold_checked_against_the_sdk_buckets(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tripod]\nservice_name = "b"\nhttp_buckets = [0.1, 1.0]\n'
        '[tool.tripod.generate]\nteam = "m"\nrunbook_url = "https://r.example"\n'
        'slos = [{ kind = "latency", threshold = 0.5 }]\n'
    )
    with pytest.raises(GenerateError, match=r"nearest: 0\.1 and 1$"):
        load_service(tmp_path)


def test_missing_description_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["generate", str(tmp_path)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "expected tripod.yaml or [tool.tripod.generate]" in result.output
