"""Parse errors are typed, positioned, hinted, and leak nothing of the parser's internals."""

from __future__ import annotations

import pytest

from tripod.server.promql.errors import ParseError
from tripod.server.promql.parse import parse_expr

LEAKS = ("Traceback", "pyo3", "panicked", "Some(", "unwrap", "<promql_parser", "0x7f")


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ("sum(rate(x[5m])", "1:4", "unclosed left parenthesis"),
        ("rat(x[5m])", "1:1", "did you mean 'rate'?"),
        ("x[5]", "1:3", "missing unit character in duration"),
        ("x offset 5", "1:10", "expected duration"),
        ('x{a=~"a**"}', "1:3", "error parsing regexp"),
        ("limitk(2, x)", "1:1", 'unknown function with name "limitk"'),
        ("mad_over_time(x[5m])", "1:1", "unknown function"),
        ("", "1:1", "no expression found"),
        ("sum(x)\n  + (", "2:5", "parse error"),
        ("foo bar", "1:5", 'unexpected identifier "bar"'),
        ("sum by (a b) (x)", "1:11", 'unexpected identifier "b"'),
        ("rate(x[5m]) foo", "1:13", 'unexpected identifier "foo"'),
        ('x{a="b" c="d"}', "1:9", 'unexpected identifier "c"'),
    ],
)
def test_parse_error_has_position_and_hint(query: str, position: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_expr(query)
    message = info.value.message
    assert message.startswith(f"{position}: parse error: "), message
    assert fragment in message
    assert not any(leak in message for leak in LEAKS), message
    assert info.value.error_type == "bad_data"
    assert info.value.status == 400


def test_negative_at_timestamp_does_not_panic() -> None:
    from tests.server.promql.memstore import MemStore
    from tripod.server.promql.engine import Engine

    store = MemStore()
    store.add("g", {}, [(-100, 4)])
    result = Engine(store).instant("g @ -99.5", 0)
    assert result.value.values.tolist() == [[4.0]]


def test_holt_winters_is_known_as_in_prometheus_2_42() -> None:
    parse_expr("holt_winters(x[5m], 0.5, 0.5)")


def test_a_query_parsed_again_gives_the_kept_tree_and_errors_are_raised_every_time() -> None:
    """Rules and dashboards parse the same texts again at every evaluation: the tree is kept
    (the parser's nodes are immutable), a bad query fails every time with the same message."""
    query = 'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))'
    assert parse_expr(query) is parse_expr(query)
    messages = []
    for _ in range(2):
        with pytest.raises(ParseError) as info:
            parse_expr("rat(x[5m])")
        messages.append(info.value.message)
    assert messages[0] == messages[1]
    assert "did you mean 'rate'?" in messages[0]


def test_long_queries_and_brackets_inside_strings_and_comments() -> None:
    """Over the cached size the query is still parsed and checked; brackets in strings and
    comments do not count towards the nesting limit, real ones do."""
    long_query = " + ".join(f'x{{a="{i:05d}{"a" * 200}"}}' for i in range(60))
    assert len(long_query) > 8192
    assert parse_expr(long_query) is not parse_expr(long_query)  # parsed again, not kept
    with pytest.raises(ParseError, match="missing unit character"):
        parse_expr(long_query + " + rate(y[5])")
    with pytest.raises(ParseError, match="query too complex"):
        parse_expr(" + ".join("x" for _ in range(1100)))
    parse_expr('x{a="' + "(" * 300 + '"} # ' + "[" * 300 + "\n")
    with pytest.raises(ParseError, match="query too complex"):
        parse_expr("(" * 201 + "x" + ")" * 201)
    with pytest.raises(ParseError, match="missing unit character"):
        parse_expr('x{a="[5]"} + rate(y[5])')
    parse_expr('x{a="[5]"} + rate(y[5m])')
