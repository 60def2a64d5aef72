"""`tripod serve` settings: the one duration/size parser, flags + environment + YAML read once,
errors that name key, value and expectation, and the generated reference page."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from tripod.server.config import (
    FLAGS,
    YAML_KEYS,
    ConfigError,
    FlagValues,
    ServerConfig,
    StorageConfig,
    config_from_flags,
    format_duration,
    load_server_config,
    parse_duration,
    parse_size,
    reference_markdown,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15d", 15 * 86400), ("1h30m", 5400), ("500ms", 0.5), ("2w", 14 * 86400), ("1y", 365 * 86400),
     ("0", 0), (0, 0), ("1m30s", 90), ("1s500ms", 1.5)],
)  # fmt: skip
def test_prometheus_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text, "k") == seconds


@pytest.mark.parametrize("bad", ["", "d", "1.5h", "-1d", "15 days", "1m1h", 15, None, True])
def test_bad_durations_name_key_value_and_expectation(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(bad, "global.scrape_interval")
    assert str(info.value) == (
        f"global.scrape_interval: {bad!r} is not valid; expected a Prometheus duration such as "
        "15s, 1m, 1h30m, 2d, 500ms or 0"
    )
    assert info.value.key == "global.scrape_interval"


@pytest.mark.parametrize("seconds", [0.5, 15, 60, 90, 5400, 86400 * 9, 365 * 86400 + 1])
def test_format_duration_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds), "k") == seconds
    assert format_duration(60) == "1m"
    assert format_duration(5400) == "1h30m"


@pytest.mark.parametrize(
    ("text", "size"),
    [("512MB", 512 * 1024**2), ("2GiB", 2 * 1024**3), ("0", 0), ("10 kb", 10 * 1024),
     ("1.5GB", int(1.5 * 1024**3)), (4096, 4096), ("100B", 100), ("7", 7)],
)  # fmt: skip
def test_sizes(text: str | int, size: int) -> None:
    assert parse_size(text, "k") == size


@pytest.mark.parametrize("bad", ["lots", "", "-1GB", "1XB", "iB", -5, 1.5])
def test_bad_sizes_name_the_key(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"^storage\.memory_limit: .* is not valid; expected a"):
        parse_size(bad, "storage.memory_limit")


def _flags(**changes: object) -> FlagValues:
    values = FlagValues(Path("d"), "127.0.0.1", 4318, "15d", "0", None, "warning")
    return dataclasses.replace(values, **changes)  # type: ignore[arg-type]


def test_flags_become_typed_settings() -> None:
    cfg = config_from_flags(_flags(retention_time="2d", retention_size="1GB", token=""))
    assert cfg.storage == StorageConfig(retention_time_s=2 * 86400, retention_size_bytes=1024**3)
    assert cfg.token is None
    with pytest.raises(ConfigError, match=r"--retention-time: 'soon' is not valid"):
        config_from_flags(_flags(retention_time="soon"))
    with pytest.raises(ConfigError, match=r"--host 10\.1\.2\.3 is not a loopback address"):
        config_from_flags(_flags(host="10.1.2.3"))
    assert config_from_flags(_flags(host="10.1.2.3", token="t")).token == "t"


def _load(tmp_path: Path, text: str) -> ServerConfig:
    path = tmp_path / "tripod.yml"
    path.write_text(text)
    return load_server_config(ServerConfig(data_dir=tmp_path), path)


def test_a_prometheus_yml_shaped_file_is_read_once_into_typed_settings(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path,
        """
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels: {cluster: eu1, replica: 1}
rule_files: [rules/*.yml, /etc/abs.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["am1:9093", "am2:9093"]}]
    - scheme: https
      path_prefix: /am/
      static_configs: [{targets: ["am3:443"]}]
  alertmanager_config: routes.yml
storage: {memory_limit: 256MB, retention_check_interval: 30s, compress_samples: true}
limits: {max_rows: 50, query_timeout_s: 2.5}
scrape_configs: [{job_name: app, static_configs: [{targets: ["h:1"]}]}]
""",
    )
    assert cfg.global_config.scrape_interval_s == 15
    assert cfg.global_config.evaluation_interval_s == 30
    assert dict(cfg.global_config.external_labels) == {"cluster": "eu1", "replica": "1"}
    assert cfg.rule_files == (str(tmp_path / "rules/*.yml"), "/etc/abs.yml")
    assert cfg.alerting.alertmanager_urls == ("http://am1:9093", "http://am2:9093",
                                              "https://am3:443/am")  # fmt: skip
    assert cfg.alerting.alertmanager_config == tmp_path / "routes.yml"
    assert cfg.storage.memory_limit_bytes == 256 * 1024**2
    assert cfg.storage.retention_check_interval_s == 30
    assert cfg.storage.compress_samples is True
    assert StorageConfig().compress_samples is True
    assert cfg.storage.retention_time_s == 15 * 86400  # from the flags, untouched
    assert (cfg.limits.max_rows, cfg.limits.query_timeout_s) == (50, 2.5)
    (job,) = cfg.scrape_configs
    assert (job.job_name, job.scrape_interval_s) == ("app", 15)
    assert cfg.config_file == tmp_path / "tripod.yml"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("limits: {max_body_byte: 10}\n", "limits.max_body_byte: unknown limit; did you mean"),
        ("limits: {max_rows: -1}\n", "limits.max_rows: -1 is not valid; expected a positive"),
        ("storage: {memory_limit: lots}\n", "storage.memory_limit: 'lots' is not valid; expected"),
        ("storage: {retention_check_interval: 0}\n", "retention_check_interval: 0 is not valid"),
        ("storage: {compress_samples: yes please}\n",
         "storage.compress_samples: 'yes please' is not valid; expected true or false"),
        ("storag: {}\n", "storag: unknown top-level key; did you mean 'storage'?"),
        ("global: {scrape_intervl: 1m}\n", "global.scrape_intervl: unknown key; did you mean"),
        ("global: {external_labels: {0bad: x}}\n", "external_labels.0bad: '0bad' is not valid"),
        ("rule_files: rules.yml\n", "rule_files: 'rules.yml' is not valid; expected a list"),
        ("alerting: {alertmanagers: [{static_configs: [{targets: am:9093}]}]}\n",
         "alerting.alertmanagers[0].static_configs[0].targets: 'am:9093' is not valid"),
        ("- just\n- a list\n", "list is not valid; expected a mapping"),
        ("limits: [unclosed\n", "is not valid YAML"),
    ],
)  # fmt: skip
def test_bad_files_name_file_key_value_and_expectation(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert message in str(info.value)
    assert str(tmp_path / "tripod.yml") in str(info.value)
    assert "\n" not in str(info.value).strip()


def test_reference_doc_is_generated_and_current() -> None:
    text = reference_markdown()
    for flag in FLAGS:
        assert f"`{flag.flag}` | `{flag.env}`" in text
    for key in YAML_KEYS:
        assert f"| `{key.name}` |" in text
    doc = REPO / "docs" / "server-config.md"
    assert doc.read_text() == text, (
        "regenerate: python -m tripod.server.config > docs/server-config.md"
    )


def test_serve_help_lists_every_flag_with_its_environment_variable() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tripod", "serve", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    flat = " ".join(done.stdout.split())
    for flag in FLAGS:
        assert flag.flag in flat
        assert flag.env in flat.replace("TRIPOD_ SERVE", "TRIPOD_SERVE")
