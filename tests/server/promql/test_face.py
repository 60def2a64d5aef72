"""``tripod.server.promql``'s face: ``__all__`` is sorted, resolves, and is exactly the public
names the package defines (submodules aside), so a rule evaluator can build on it."""

from __future__ import annotations

import types

import tripod.server.promql as promql


def test_all_is_sorted_and_resolves() -> None:
    assert list(promql.__all__) == sorted(promql.__all__)
    for name in promql.__all__:
        assert getattr(promql, name) is not None, name


def test_all_is_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(promql).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(promql.__all__)
    assert set(promql.__all__) == {
        "BadDataError",
        "Engine",
        "ExecutionError",
        "ParseError",
        "PromQLError",
        "QueryResult",
        "QueryTimeoutError",
        "TooManySamplesError",
        "parse_expr",
    }


def test_every_error_is_a_promql_error() -> None:
    for name in promql.__all__:
        value = getattr(promql, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, promql.PromQLError), name
