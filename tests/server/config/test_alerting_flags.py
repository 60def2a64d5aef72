"""The rules and alerting flags of ``tripod serve``: typed, merged with the ``--config`` file, and
refused with one line naming the flag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.procs import free_port
from tripod.server.config import (
    ConfigError,
    FlagValues,
    RuleTiming,
    ServerConfig,
    config_from_flags,
    load_server_config,
)


def _flags(**changes: object) -> FlagValues:
    base: dict[str, object] = {"data_dir": Path("d"), "host": "127.0.0.1", "port": 4318,
                               "retention_time": "15d", "retention_size": "0", "token": None,
                               "log_level": "warning"}  # fmt: skip
    return FlagValues(**{**base, **changes})  # type: ignore[arg-type]


def test_flags_become_rule_and_alerting_settings() -> None:
    cfg = config_from_flags(
        _flags(
            rules=("rules/*.yml", "more.yml"),
            alertmanager_url=("http://127.0.0.1:9093/", "https://am.example/prefix"),
            alertmanager_config="am.yml",
            external_url="https://tripod.example/",
            alert_resend_delay="30s",
            alert_for_outage_tolerance="2h",
            alert_for_grace_period="1s",
        )
    )
    assert cfg.rule_files == ("rules/*.yml", "more.yml")
    assert cfg.alerting.alertmanager_urls == ("http://127.0.0.1:9093", "https://am.example/prefix")
    assert cfg.alerting.alertmanager_config == Path("am.yml")
    assert cfg.rule_timing == RuleTiming(30.0, 7200.0, 1.0)
    assert cfg.public_url == "https://tripod.example"
    default = config_from_flags(_flags(port=9999))
    assert default.public_url == "http://127.0.0.1:9999"
    assert default.rule_timing == RuleTiming(60.0, 3600.0, 600.0)  # Prometheus's defaults


@pytest.mark.parametrize(
    ("change", "words"),
    [({"alertmanager_url": ("127.0.0.1:9093",)}, "--alertmanager-url: '127.0.0.1:9093' is not"),
     ({"external_url": "ftp://x"}, "--external-url: 'ftp://x' is not valid"),
     ({"alert_for_grace_period": "0"}, "--alert-for-grace-period: '0' is not valid"),
     ({"alert_resend_delay": "soon"}, "--alert-resend-delay: 'soon' is not valid"),
     ({"alertmanager_config": " "}, "--alertmanager-config: ' ' is not valid")],
)  # fmt: skip
def test_bad_values_name_the_flag(change: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(".", r"\.")):
        config_from_flags(_flags(**change))


def test_flags_add_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "tripod.yml"
    path.parent.mkdir()
    path.write_text(
        "rule_files: [rules/*.yml]\n"
        "alerting:\n"
        "  alertmanagers: [{static_configs: [{targets: ['127.0.0.1:9093']}]}]\n"
        "  alertmanager_config: am.yml\n"
    )
    flags = config_from_flags(
        _flags(data_dir=tmp_path, rules=("extra.yml",),
               alertmanager_url=("http://127.0.0.1:9093", "http://127.0.0.1:9094"))
    )  # fmt: skip
    cfg = load_server_config(flags, path)
    assert cfg.rule_files == (str(path.parent / "rules/*.yml"), "extra.yml")
    assert cfg.alerting.alertmanager_urls == ("http://127.0.0.1:9093", "http://127.0.0.1:9094")
    assert cfg.alerting.alertmanager_config == path.parent / "am.yml"
    wins = load_server_config(
        config_from_flags(_flags(data_dir=tmp_path, alertmanager_config="mine.yml")), path
    )
    assert wins.alerting.alertmanager_config == Path("mine.yml")
    assert load_server_config(ServerConfig(data_dir=tmp_path), path).rule_files == (
        str(path.parent / "rules/*.yml"),
    )


def test_a_bad_alerting_flag_exits_2_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tripod", "serve", "--data-dir", str(tmp_path / "d"),
         "--port", str(free_port()), "--alertmanager-url", "localhost:9093"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    expected = ("tripod serve: --alertmanager-url: 'localhost:9093' is not valid; expected an "
                "http:// or https:// URL with a host")  # fmt: skip
    assert done.stderr.splitlines() == [expected]


def test_a_missing_routing_file_exits_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yml"
    done = subprocess.run(
        [sys.executable, "-m", "tripod", "serve", "--data-dir", str(tmp_path / "d"),
         "--port", str(free_port()), "--alertmanager-config", str(missing)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"tripod serve: {missing}: ")
