"""Generated bad input never leaks a Python error: templates raise TemplateError, matchers
MatcherError, routing files ConfigError, silences SilenceError."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tripod.server.notify.amconfig import parse_config
from tripod.server.notify.client import ConfigError
from tripod.server.notify.matchers import MatcherError, parse_matchers
from tripod.server.notify.silences import SilenceError, SilenceNotFoundError, SilenceStore
from tripod.server.notify.templates import Template, TemplateError, sample_data

PIECES = [
    "{{",
    "}}",
    "{{-",
    "-}}",
    " ",
    ".",
    ".Status",
    ".Alerts",
    ".CommonLabels.x",
    "|",
    "len",
    "eq",
    "if",
    "else",
    "end",
    "range",
    "template",
    '"',
    '"a"',
    '"\\x"',
    "(",
    ")",
    "$",
    "7",
    "-3",
    "toUpper",
    "join",
    "title",
    ".Labels",
    "with",
    "/*",
    "*/",
    "\\",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
def test_templates(source: str) -> None:
    with contextlib.suppress(TemplateError):
        Template(source).render(sample_data())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='{}=!~",\\ az_09.*()[]\n', max_size=30))
def test_matchers(text: str) -> None:
    with contextlib.suppress(MatcherError):
        parse_matchers(text)


_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x", "5m", "a=b", "..."]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(["receiver", "route", "routes", "receivers", "name", "group_by",
                         "matchers", "webhook_configs", "url", "global", "inhibit_rules",
                         "equal", "group_wait", "continue", "email_configs", "to"]),
        inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(_VALUE)
def test_routing_files(raw: Any) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(raw)


@settings(max_examples=300, deadline=None)
@given(_VALUE)
def test_silences(raw: Any) -> None:
    with contextlib.suppress(SilenceError, SilenceNotFoundError):
        SilenceStore().set(raw)
