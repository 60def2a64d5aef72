"""``--dashboards`` and the ``dashboards:`` key of ``--config``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripod.server.config import ConfigError, FlagValues, config_from_flags, load_server_config


def _flags(*dashboards: str) -> FlagValues:
    return FlagValues(
        data_dir=Path("d"), host="127.0.0.1", port=0, retention_time="15d", retention_size="0",
        token=None, log_level="warning", dashboards=dashboards,
    )  # fmt: skip


def test_flags_and_file_add_up_with_relative_paths_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "tripod.yaml"
    config.parent.mkdir()
    config.write_text("dashboards: [boards, /abs/one.json]\n")
    settings = load_server_config(config_from_flags(_flags("cli", "")), config)
    assert settings.dashboards == (str(config.parent / "boards"), "/abs/one.json", "cli")
    assert config_from_flags(_flags()).dashboards == ()


@pytest.mark.parametrize("value", ["boards", "[1]", "['']", "{a: b}"])
def test_a_bad_dashboards_key_names_the_key_and_what_is_expected(
    tmp_path: Path, value: str
) -> None:
    config = tmp_path / "tripod.yaml"
    config.write_text(f"dashboards: {value}\n")
    with pytest.raises(ConfigError) as err:
        load_server_config(config_from_flags(_flags()), config)
    assert "dashboards" in str(err.value)
    assert "a list of Grafana dashboard JSON files or folders" in str(err.value)
