"""``tripod serve`` settings: flags, environment and the ``--config`` YAML, parsed once into typed,
frozen values (:class:`ServerConfig`), with the one duration parser and the one size parser.

The scrape and relabel languages of the file live here too (``_scrape.py``, ``_relabel.py``), so
the whole file is checked before anything starts; ``docs/server-config.md`` is generated from the
tables in this package.
"""

from __future__ import annotations

from tripod.server.config._docs import reference_markdown
from tripod.server.config._flags import FLAGS, LOG_LEVELS, Flag, FlagValues, config_from_flags
from tripod.server.config._load import YAML_KEYS, YamlKey, load_server_config, read_yaml
from tripod.server.config._relabel import RelabelConfig, parse_relabel_configs, relabel
from tripod.server.config._scrape import (
    FileSDConfig,
    ScrapeConfig,
    TargetGroup,
    parse_scrape_configs,
    parse_target_groups,
)
from tripod.server.config._settings import (
    AlertingConfig,
    GlobalConfig,
    Limits,
    RuleTiming,
    ServerConfig,
    StorageConfig,
)
from tripod.server.config._units import (
    ConfigError,
    format_duration,
    invalid,
    parse_duration,
    parse_size,
)

__all__ = [
    "FLAGS",
    "LOG_LEVELS",
    "YAML_KEYS",
    "AlertingConfig",
    "ConfigError",
    "FileSDConfig",
    "Flag",
    "FlagValues",
    "GlobalConfig",
    "Limits",
    "RelabelConfig",
    "RuleTiming",
    "ScrapeConfig",
    "ServerConfig",
    "StorageConfig",
    "TargetGroup",
    "YamlKey",
    "config_from_flags",
    "format_duration",
    "invalid",
    "load_server_config",
    "parse_duration",
    "parse_relabel_configs",
    "parse_scrape_configs",
    "parse_size",
    "parse_target_groups",
    "read_yaml",
    "reference_markdown",
    "relabel",
]
