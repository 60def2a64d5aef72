"""Routing files: what the built-in notifier accepts passes ``amtool check-config`` too; what it
does not support is refused with the field named, and what Alertmanager refuses we refuse."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from tests.server.notify.sinks import amtool_binary
from tripod.server.notify.amconfig import load_config, parse_config
from tripod.server.notify.client import ConfigError

RANGE_TEXT = "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}"
HOOK = {"name": "hook", "webhook_configs": [{"url": "http://127.0.0.1:9/hook"}]}


def amtool_ok(tmp_path: Path, config: Mapping[str, object]) -> bool:
    path = tmp_path / "am.yml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([amtool_binary(), "check-config", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    return done.returncode == 0


def base(**extra: object) -> dict[str, object]:
    return {"route": {"receiver": "hook"}, "receivers": [HOOK], **extra}


ACCEPTED: list[dict[str, object]] = [
    base(),
    {
        "global": {"resolve_timeout": "1m", "smtp_smarthost": "127.0.0.1:2525",
                   "smtp_from": "a@b.c", "smtp_auth_username": "u",
                   "smtp_auth_password_file": "/dev/null", "slack_api_url": "http://127.0.0.1:9/s"},
        "route": {
            "receiver": "hook", "group_by": ["..."], "group_wait": "10s", "group_interval": "1m",
            "repeat_interval": "1h30m",
            "routes": [
                {"match": {"severity": "page"}, "receiver": "mail", "continue": True},
                {"match_re": {"team": "db|ops"}, "receiver": "chat", "group_by": ["team"]},
                {"matchers": ['service=~"a.*"', "env!=dev"], "routes": [
                    {"matchers": ['{x="1",y!~"2"}'], "receiver": "chat"}]},
            ],
        },
        "inhibit_rules": [
            {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
             "equal": ["alertname", "cluster"]},
            {"source_match": {"a": "b"}, "target_match_re": {"c": "d.*"}},
        ],
        "receivers": [
            {"name": "hook", "webhook_configs": [{"url": "http://127.0.0.1:9/h",
                                                  "send_resolved": False, "max_alerts": 5}]},
            {"name": "mail", "email_configs": [{"to": "x@y.z", "require_tls": False,
                                                "headers": {"subject": "{{ .Status }}"},
                                                "text": "{{ .CommonAnnotations.summary }}"}]},
            {"name": "chat", "slack_configs": [{"channel": "#alerts", "send_resolved": True,
                                                "title": "{{ .CommonLabels.alertname }}",
                                                "text": RANGE_TEXT}]},
        ],
    },
]  # fmt: skip


@pytest.mark.parametrize("config", ACCEPTED)
def test_accepted_files_pass_amtool(tmp_path: Path, config: dict[str, object]) -> None:
    parse_config(config)
    assert amtool_ok(tmp_path, config)


def test_load_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "am.yml"
    path.write_text("route: [")
    with pytest.raises(ConfigError, match=r"am\.yml"):
        load_config(path)
    path.write_text(yaml.safe_dump(base(templates=["x.tmpl"])))
    with pytest.raises(ConfigError, match=r"am\.yml: templates"):
        load_config(path)


UNSUPPORTED = [
    (base(mute_time_intervals=[{"name": "n", "time_intervals": []}]), "mute_time_intervals"),
    (base(time_intervals=[{"name": "n", "time_intervals": []}]), "time_intervals"),
    ({"route": {"receiver": "hook"},
      "receivers": [{"name": "hook", "pagerduty_configs": [{"routing_key": "k"}]}]},
     "receivers[0].pagerduty_configs"),
    ({"route": {"receiver": "hook"},
      "receivers": [{"name": "hook", "webhook_configs": [
          {"url": "http://h/", "http_config": {"basic_auth": {"username": "u"}}}]}]},
     "receivers[0].webhook_configs[0].http_config"),
    ({"route": {"receiver": "hook"},
      "receivers": [{"name": "hook", "email_configs": [
          {"to": "a@b.c", "from": "x@y.z", "smarthost": "h:25", "html": "<b/>"}]}]},
     "receivers[0].email_configs[0].html"),
    ({"route": {"receiver": "hook"},
      "receivers": [{"name": "hook", "slack_configs": [
          {"api_url": "http://h/", "fields": [{"title": "t", "value": "v"}]}]}]},
     "receivers[0].slack_configs[0].fields"),
    ({"route": {"receiver": "hook"},
      "receivers": [{"name": "hook", "slack_configs": [
          {"api_url": "http://h/", "text": '{{ .CommonLabels.x | reReplaceAll "a" "b" }}'}]}]},
     "receivers[0].slack_configs[0].text"),
    ({"route": {"receiver": "hook"},
      "receivers": [{"name": "hook", "slack_configs": [
          {"api_url": "http://h/", "title": '{{ with .CommonLabels }}{{ .x }}{{ end }}'}]}]},
     "receivers[0].slack_configs[0].title"),
    ({"route": {"receiver": "hook"},
      "receivers": [{"name": "hook", "slack_configs": [
          {"api_url": "http://h/", "title": '{{ template "my.title" . }}'}]}]},
     "receivers[0].slack_configs[0].title"),
    ({"route": {"receiver": "hook", "routes": [{"receiver": "hook",
                                                "mute_time_intervals": ["n"]}]},
      "time_intervals": [{"name": "n", "time_intervals": []}], "receivers": [HOOK]},
     "time_intervals"),
    (base(**{"global": {"opsgenie_api_key": "k"}}), "global.opsgenie_api_key"),
]  # fmt: skip


@pytest.mark.parametrize(("config", "field"), UNSUPPORTED)
def test_unsupported_fields_are_named(
    tmp_path: Path, config: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config)
    assert str(caught.value).startswith(field), str(caught.value)
    assert amtool_ok(tmp_path, config)  # valid Alertmanager, just not ours


def test_webhook_url_file_is_refused_like_alertmanager_025(tmp_path: Path) -> None:
    webhook = {"name": "hook", "webhook_configs": [{"url_file": "/dev/null"}]}
    config = {"route": {"receiver": "hook"}, "receivers": [webhook]}
    with pytest.raises(ConfigError, match=r"webhook_configs\[0\]\.url_file"):
        parse_config(config)
    assert not amtool_ok(tmp_path, config)


INVALID = [
    ({"route": {"receiver": "nobody"}, "receivers": [HOOK]}, "undefined receiver 'nobody'"),
    ({"route": {"receiver": "hook", "matchers": ["a=b"]}, "receivers": [HOOK]},
     "root route must not have any matchers"),
    ({"route": {}, "receivers": [HOOK]}, "default receiver"),
    ({"route": {"receiver": "hook"}, "receivers": [HOOK, HOOK]}, "not unique"),
    ({"route": {"receiver": "hook", "group_by": ["...", "a"]}, "receivers": [HOOK]}, "wildcard"),
    ({"route": {"receiver": "hook", "group_interval": "0s"}, "receivers": [HOOK]},
     "cannot be zero"),
    ({"route": {"receiver": "hook", "group_wait": "soon"}, "receivers": [HOOK]}, "group_wait"),
    ({"route": {"receiver": "hook", "routes": [{"matchers": ["a=~("]}]}, "receivers": [HOOK]},
     "regular expression"),
    ({"route": {"receiver": "hook"}, "receivers": [
        {"name": "hook", "email_configs": [{"to": "a@b.c"}]}]}, "smarthost"),
    ({"route": {"receiver": "hook"}, "receivers": [
        {"name": "hook", "slack_configs": [{"channel": "#x"}]}]}, "no global Slack API URL"),
    ({"route": {"receiver": "hook"}, "receivers": [
        {"name": "hook", "webhook_configs": [{"url": "ftp://x"}]}]}, "http"),
]  # fmt: skip


@pytest.mark.parametrize(("config", "reason"), INVALID)
def test_invalid_files_refused_by_both(
    tmp_path: Path, config: dict[str, object], reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_config(config)
    assert not amtool_ok(tmp_path, config)
