"""tripod's public face: ``__all__`` is sorted, complete, and every name resolves."""

from __future__ import annotations

import tripod


def test_all_is_sorted_and_resolves() -> None:
    assert list(tripod.__all__) == sorted(tripod.__all__)
    for name in tripod.__all__:
        assert hasattr(tripod, name), name


def test_all_is_complete() -> None:
    public = {
        name
        for name, value in vars(tripod).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("tripod")
    }
    assert public <= set(tripod.__all__)
    assert {"init", "shutdown", "instrument", "get_logger", "traced", "span", "counter",
            "gauge", "histogram", "timed", "set_log_level", "bind", "inject_headers"} <= set(
        tripod.__all__
    )  # fmt: skip
