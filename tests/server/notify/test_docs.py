"""The routing file shown in docs/alerting.md is accepted by the built-in notifier and amtool."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.server.notify.sinks import checked

DOC = Path(__file__).resolve().parents[3] / "docs" / "alerting.md"


def test_documented_routing_file(tmp_path: Path) -> None:
    text = DOC.read_text()
    section = text[text.index("## Notifications: the built-in notifier") :]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert blocks
    config = checked(yaml.safe_load(blocks[0]), tmp_path)
    assert [r.receiver for r in config.route.match({"severity": "page"})] == ["pager"]
