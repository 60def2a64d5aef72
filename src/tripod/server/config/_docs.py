"""docs/server-config.md, generated from the flag and key tables (``python -m
tripod.server.config > docs/server-config.md``); a test keeps the file current."""

from __future__ import annotations

import dataclasses

from tripod.server.config._flags import FLAGS
from tripod.server.config._load import TOP_LEVEL, YAML_KEYS
from tripod.server.config._relabel import ACTIONS
from tripod.server.config._scrape import JOB_FIELDS
from tripod.server.config._settings import Limits

__all__ = ["reference_markdown"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _limit_default(value: object) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def reference_markdown() -> str:
    """The whole reference page as Markdown."""
    out = [
        "# `tripod serve` configuration reference",
        "",
        (
            "Generated from `src/tripod/server/config/` by `python -m tripod.server.config`; "
            "do not edit by hand."
        ),
        "",
        (
            "Settings are read once at start: flags (or their environment variables) first, "
            "then the `--config` YAML file. A bad value stops `tripod serve` with exit status 2 "
            "and one line naming the flag or key, the value and what is expected; unknown keys "
            'get a "did you mean" hint. Durations use Prometheus\'s syntax (`15s`, `1m`, '
            "`1h30m`, `2d`, `500ms`, `0`); sizes are `B`, `KB`, `MB`, `GB`, `TB` in powers of "
            "1024 (`512MB`, `0`)."
        ),
        "",
        "## Flags",
        "",
        "| flag | environment | default | meaning |",
        "|---|---|---|---|",
    ]
    for flag in FLAGS:
        default = f"`{flag.default}`" if flag.default is not None else "—"
        out.append(f"| `{flag.flag}` | `{flag.env}` | {default} | {_cell(flag.doc)} |")
    out += [
        "",
        "## The `--config` file",
        "",
        "Top-level keys: " + ", ".join(f"`{k}:`" for k in TOP_LEVEL) + ". The `global:`, "
        "`scrape_configs:`, `rule_files:` and `alerting:` sections use Prometheus's "
        "`prometheus.yml` shape, so one file can serve both. Relative paths are relative to the "
        "file's folder.",
        "",
        "### `limits:`",
        "",
        "| key | default | meaning |",
        "|---|---|---|",
    ]
    for f in dataclasses.fields(Limits):
        default = _limit_default(f.default)
        out.append(f"| `{f.name}` | `{default}` | {_cell(str(f.metadata.get('doc', '')))} |")
    for section in ("storage", "global", "alerting"):
        out += ["", f"### `{section}:`", "", "| key | default | value | meaning |",
                "|---|---|---|---|"]  # fmt: skip
        for key in YAML_KEYS:
            if key.section == section:
                default = f"`{key.default}`" if key.default != "—" else "—"
                out.append(
                    f"| `{key.name}` | {default} | {_cell(key.expected)} | {_cell(key.doc)} |"
                )
    out += [
        "",
        "### `rule_files:`",
        "",
        "A list of rule files (globs allowed), in Prometheus's rule file format.",
        "",
        "### `dashboards:`",
        "",
        (
            "A list of Grafana dashboard JSON files or folders (searched for `*.json`) the web "
            "UI shows, added to `--dashboards`; see docs/ui.md."
        ),
        "",
        "### `scrape_configs:`",
        "",
        "A list of scrape jobs with Prometheus's field names and defaults. Supported fields: "
        + ", ".join(f"`{name}`" for name in sorted(JOB_FIELDS))
        + ". Other Prometheus fields are refused by name. Relabel actions: "
        + ", ".join(f"`{a}`" for a in ACTIONS)
        + ".",
        "",
    ]
    return "\n".join(out)
