"""Sample values as JSON text, as Prometheus 2.42's API writes them (util/jsonutil MarshalValue:
Go's 'f' format, but 'e' below 1e-6 and from 1e21 on)."""

from __future__ import annotations

import numpy as np
import pytest

from tripod.server.promql.render import format_values, json_value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-1e300, "-1e+300"),  # what Prometheus answered for conf_weird_values{kind="mixed"}
        (1e21, "1e+21"),
        (123456789012345678901.0, "123456789012345680000"),  # just below 1e21: 'f'
        (1.5e-7, "1.5e-07"),
        (1e-6, "0.000001"),  # the cut-off itself is still 'f'
        (5e-324, "5e-324"),
        (1e16, "10000000000000000"),
        (0.1, "0.1"),
        (2.0, "2"),
        (-0.0, "-0"),
        (0.0, "0"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
    ],
)
def test_values_are_written_as_prometheus_writes_them(value: float, text: str) -> None:
    assert json_value(value) == text
    assert format_values(np.array([value, 1.0])) == [text, "1"]
