"""scrape_configs validation, relabelling and target label population (no servers)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tripod.server.config import (
    ServerConfig,
    load_server_config,
    parse_duration,
    parse_relabel_configs,
    parse_scrape_configs,
    relabel,
)
from tripod.server.ingest.scrape import FileSD, load_sd_file, targets_for


def _rl(*steps: dict[str, object]) -> tuple:  # type: ignore[type-arg]
    return parse_relabel_configs(list(steps), "relabel_configs")


# --- durations and defaults ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15s", 15), ("1m", 60), ("1h30m", 5400), ("500ms", 0.5), ("1d", 86400), ("0", 0)],
)
def test_prometheus_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "x") == seconds


@pytest.mark.parametrize("text", ["", "15", "1.5s", "s", "1m1h", "-1s", "fast"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"x: .* is not valid; expected a Prometheus duration"):
        parse_duration(text, "x")


def test_defaults_match_prometheus() -> None:
    (cfg,) = parse_scrape_configs([{"job_name": "a"}])
    assert cfg.scrape_interval_s == 60
    assert cfg.scrape_timeout_s == 10
    assert cfg.metrics_path == "/metrics"
    assert cfg.scheme == "http"
    assert cfg.honor_labels is False
    assert cfg.honor_timestamps is True


def test_global_section_sets_interval_and_timeout_is_capped_by_interval() -> None:
    cfgs = parse_scrape_configs(
        [{"job_name": "a"}, {"job_name": "b", "scrape_interval": "5s"}],
        scrape_interval_s=30,
        scrape_timeout_s=20,
    )
    assert (cfgs[0].scrape_interval_s, cfgs[0].scrape_timeout_s) == (30, 20)
    assert (cfgs[1].scrape_interval_s, cfgs[1].scrape_timeout_s) == (5, 5)


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        (
            {"job_name": "j", "scrape_interval": "soon"},
            r"job 'j'.*scrape_interval: 'soon' is not valid; expected a Prom",
        ),
        (
            {"job_name": "j", "scrape_interval": "1s", "scrape_timeout": "2s"},
            r"'j'.*scrape_timeout",
        ),
        ({"job_name": "j", "metrics_path": "metrics"}, r"'j'.*metrics_path"),
        ({"job_name": "j", "scheme": "ftp"}, r"'j'.*scheme"),
        (
            {"job_name": "j", "static_config": []},
            r"'j'.*unknown field 'static_config'.*static_configs",
        ),
        ({"job_name": "j", "kubernetes_sd_configs": []}, r"'j'.*does not support"),
        (
            {"job_name": "j", "static_configs": [{"targets": ["http://h:1/metrics"]}]},
            r"'j'.*host:port",
        ),
        (
            {"job_name": "j", "static_configs": [{"targets": ["h:1"], "labels": {"a-b": "1"}}]},
            r"label name",
        ),
        ({"job_name": "j", "file_sd_configs": [{"files": ["t.txt"]}]}, r"'j'.*\.json, \.yml"),
        ({"job_name": "j", "relabel_configs": [{"action": "replace"}]}, r"'j'.*target_label"),
        ({"job_name": "j", "relabel_configs": [{"action": "explode"}]}, r"'j'.*unknown action"),
        ({"job_name": "j", "relabel_configs": [{"regex": "("}]}, r"'j'.*regex"),
        ({"job_name": "j", "honor_labels": "yes"}, r"'j'.*honor_labels"),
        ({"scrape_interval": "1s"}, r"job_name"),
    ],
)
def test_bad_configs_name_job_and_field(config: dict[str, object], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_scrape_configs([config])


def test_bad_global_section_is_refused(tmp_path: Path) -> None:
    def load(text: str) -> ServerConfig:
        path = tmp_path / "tripod.yml"
        path.write_text(text)
        return load_server_config(ServerConfig(data_dir=tmp_path), path)

    with pytest.raises(ValueError, match=r"global\.scrape_interval: 'often'"):
        load("global: {scrape_interval: often}\n")
    with pytest.raises(ValueError, match=r"global\.scrape_timeout: '10s'.*at most"):
        load("global: {scrape_interval: 5s, scrape_timeout: 10s}\n")
    cfg = load("global: {scrape_interval: 5s}\nscrape_configs: [{job_name: a}]\n")
    assert cfg.scrape_configs[0].scrape_timeout_s == 5  # the default 10s, capped


def test_duplicate_job_names_are_refused() -> None:
    with pytest.raises(ValueError, match="'a' appears twice"):
        parse_scrape_configs([{"job_name": "a"}, {"job_name": "a"}])


# --- relabelling -----------------------------------------------------------------------------


def test_replace_with_groups_and_separator() -> None:
    steps = _rl(
        {
            "source_labels": ["__address__", "zone"],
            "separator": "@",
            "regex": "([^:]+):(\\d+)@(.*)",
            "target_label": "where",
            "replacement": "${1}-$3",
        }
    )
    assert relabel({"__address__": "h:9", "zone": "eu"}, steps) == {
        "__address__": "h:9",
        "zone": "eu",
        "where": "h-eu",
    }


def test_regex_is_anchored_and_non_match_leaves_labels() -> None:
    steps = _rl({"source_labels": ["a"], "regex": "b", "target_label": "t", "replacement": "x"})
    assert relabel({"a": "abc"}, steps) == {"a": "abc"}


def test_dollar_one_followed_by_letters_is_a_named_group_like_go() -> None:
    steps = _rl(
        {"source_labels": ["a"], "regex": "(.*)", "target_label": "t", "replacement": "$1x"}
    )
    assert relabel({"a": "v"}, steps) == {"a": "v"}  # "$1x" is group "1x": empty -> deleted
    steps = _rl({"source_labels": ["a"], "target_label": "t", "replacement": "$$${1}x"})
    assert relabel({"a": "v"}, steps) == {"a": "v", "t": "$vx"}


def test_replace_with_empty_result_deletes_the_target() -> None:
    steps = _rl({"source_labels": ["nothing"], "target_label": "env"})
    assert relabel({"env": "prod"}, steps) == {}


def test_keep_and_drop() -> None:
    keep = _rl({"action": "keep", "source_labels": ["job"], "regex": "api|web"})
    drop = _rl({"action": "drop", "source_labels": ["job"], "regex": "api"})
    assert relabel({"job": "api"}, keep) == {"job": "api"}
    assert relabel({"job": "apix"}, keep) is None
    assert relabel({"job": "api"}, drop) is None
    assert relabel({"job": "web"}, drop) == {"job": "web"}


def test_labelmap_labeldrop_labelkeep() -> None:
    labels = {"__meta_x_team": "core", "__meta_x_tier": "1", "job": "j", "tmp_a": "1"}
    mapped = relabel(labels, _rl({"action": "labelmap", "regex": "__meta_x_(.+)"}))
    assert mapped == {**labels, "team": "core", "tier": "1"}
    assert relabel(labels, _rl({"action": "labeldrop", "regex": "tmp_.*"})) == {
        "__meta_x_team": "core",
        "__meta_x_tier": "1",
        "job": "j",
    }
    assert relabel(labels, _rl({"action": "labelkeep", "regex": "job|tmp_a"})) == {
        "job": "j",
        "tmp_a": "1",
    }


def test_hashmod_lowercase_and_keepequal() -> None:
    steps = _rl(
        {"action": "hashmod", "source_labels": ["a"], "modulus": 4, "target_label": "shard"},
        {"action": "lowercase", "source_labels": ["a"], "target_label": "low"},
    )
    out = relabel({"a": "ABC"}, steps)
    assert out is not None
    assert out["low"] == "abc"
    assert out["shard"] in {"0", "1", "2", "3"}
    assert relabel({"a": "ABC"}, steps) == out  # stable
    same = _rl({"action": "keepequal", "source_labels": ["a"], "target_label": "b"})
    assert relabel({"a": "1", "b": "1"}, same) is not None
    assert relabel({"a": "1", "b": "2"}, same) is None


# --- targets ---------------------------------------------------------------------------------


def test_target_labels_url_params_and_instance() -> None:
    (cfg,) = parse_scrape_configs(
        [
            {
                "job_name": "node",
                "metrics_path": "/probe",
                "params": {"module": ["http_2xx"], "x": ["1", "2"]},
                "static_configs": [{"targets": ["example:80", "other:81"], "labels": {"env": "p"}}],
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": "prober:9115"},
                    {"action": "drop", "source_labels": ["instance"], "regex": "other:.*"},
                ],
            }
        ]
    )
    targets = list(targets_for(cfg, cfg.static_configs).values())
    assert len(targets) == 1
    (t,) = targets
    assert t.labels == {"env": "p", "instance": "example:80", "job": "node"}
    assert t.url == "http://prober:9115/probe?module=http_2xx&target=example%3A80&x=1&x=2"
    assert (t.interval_s, t.timeout_s) == (60, 10)


def test_instance_defaults_to_the_address_and_meta_labels_vanish() -> None:
    (cfg,) = parse_scrape_configs(
        [
            {
                "job_name": "j",
                "scheme": "https",
                "static_configs": [{"targets": ["a:1"], "labels": {"__meta_z": "q"}}],
                "relabel_configs": [
                    {"source_labels": ["__meta_z"], "target_label": "z"},
                    {"target_label": "__scrape_interval__", "replacement": "30s"},
                ],
            }
        ]
    )
    (t,) = targets_for(cfg, cfg.static_configs).values()
    assert t.labels == {"instance": "a:1", "job": "j", "z": "q"}
    assert t.url == "https://a:1/metrics"
    assert t.interval_s == 30


def test_file_sd_json_and_yaml_with_filepath_label(tmp_path: Path) -> None:
    js = tmp_path / "a.json"
    js.write_text(json.dumps([{"targets": ["h:1", "h:2"], "labels": {"team": "x"}}]))
    ym = tmp_path / "b.yml"
    ym.write_text("- targets: ['h:3']\n")
    assert [g.targets for g in load_sd_file(js)] == [("h:1", "h:2")]
    (group,) = load_sd_file(ym)
    assert group.labels == {"__meta_filepath": str(ym)}
    (cfg,) = parse_scrape_configs(
        [{"job_name": "f", "file_sd_configs": [{"files": [str(tmp_path / "*.json"), "b.yml"]}]}]
    )
    sd = FileSD(cfg.file_sd_configs[0], base=tmp_path)
    assert sd.poll() is True
    assert sorted(t for g in sd.groups() for t in g.targets) == ["h:1", "h:2", "h:3"]
    assert sd.poll() is False  # nothing changed


def test_file_sd_bad_file_keeps_previous_targets_and_removed_file_drops_them(
    tmp_path: Path,
) -> None:
    js = tmp_path / "t.json"
    js.write_text(json.dumps([{"targets": ["h:1"]}]))
    (cfg,) = parse_scrape_configs([{"job_name": "f", "file_sd_configs": [{"files": [str(js)]}]}])
    sd = FileSD(cfg.file_sd_configs[0])
    sd.poll()
    js.write_text("[{not json")
    assert sd.poll() is False
    assert [g.targets for g in sd.groups()] == [("h:1",)]
    assert re.search(r"not valid JSON", sd.errors[js])
    js.unlink()
    assert sd.poll() is True
    assert sd.groups() == []
