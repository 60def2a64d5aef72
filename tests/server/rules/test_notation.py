"""promtool's expanding series notation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tripod.server.rules.notation import NotationError, parse_metric, parse_series, parse_values
from tripod.server.store.model import STALE_NAN_BITS


def test_expanding_values() -> None:
    assert parse_values("1+2x3") == [1, 3, 5, 7]
    assert parse_values("10-1x2 _ 5x1") == [10, 9, 8, None, 5, 5]
    assert parse_values("_x3 -2") == [None, None, None, -2]
    assert parse_values("0x10") == [0] * 11  # no hex in series values: 0 repeated
    assert parse_values("1e3 .5 +Inf") == [1000.0, 0.5, math.inf]
    # the step is added repeatedly in floating point, as Prometheus does
    assert parse_values("0.1+0.1x2")[-1] == 0.1 + 0.1 + 0.1


def test_stale_is_the_staleness_marker() -> None:
    [value] = parse_values("stale")
    assert value is not None
    assert np.float64(value).view(np.uint64) == STALE_NAN_BITS


@pytest.mark.parametrize("bad", ["three", "1x", "1x2.5", "stalex2", "1+x3", "Stale", "0x1f"])
def test_bad_values_are_refused(bad: str) -> None:
    with pytest.raises(NotationError):
        parse_values(bad)


def test_metrics() -> None:
    assert parse_metric("up{job=\"a\", instance='b:1',}") == {
        "__name__": "up",
        "job": "a",
        "instance": "b:1",
    }
    assert parse_metric('{__name__="x", a="\\n\\"q\\""}') == {"__name__": "x", "a": '\n"q"'}
    assert parse_metric("") == {}
    assert parse_metric("{}") == {}
    assert parse_series("up", "1 2") == ({"__name__": "up"}, [1, 2])


@pytest.mark.parametrize("bad", ["m{a=b}", "m{a}", 'm{a="b"', "m b", '{a="b"} junk'])
def test_bad_metrics_are_refused(bad: str) -> None:
    with pytest.raises(NotationError):
        parse_metric(bad)
