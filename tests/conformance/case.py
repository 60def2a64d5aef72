"""A conformance case and the shorthands the corpus files write cases with.

``C(query)`` runs as instant queries at several times and as range queries; ``kinds="instant"``
limits it; ``ordered=True`` also compares the order of an instant vector; ``E(query)`` must fail
on Prometheus (the corpus self-check verifies it); ``xfail="reason"`` records a known, explained
difference (the test is xfail strict, so a fix turns it into an XPASS failure); ``ties=True``
compares only values, for selections among equal values; ``exact=True`` (instant vectors)
also compares the order of the label sets, for ties whose order Prometheus does define.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

Kinds = Literal["both", "instant", "range"]


@dataclasses.dataclass(frozen=True)
class Case:
    query: str
    kinds: Kinds = "both"
    ordered: bool = False
    error: bool = False
    xfail: str | None = None
    section: str = ""
    #: Selects among equal values, where Prometheus itself answers differently run to run.
    ties: bool = False
    #: An instant vector's label sets must come in Prometheus's order, ties included.
    exact: bool = False
    #: Instant times of its own, in seconds from the remote-written data's anchor (moments.py).
    at: tuple[float, ...] = ()


def C(
    query: str,
    kinds: Kinds = "both",
    *,
    ordered: bool = False,
    xfail: str | None = None,
    exact: bool = False,
) -> Case:
    return Case(query, kinds, ordered or exact, False, xfail, exact=exact)


def E(query: str, kinds: Kinds = "instant", *, xfail: str | None = None) -> Case:
    return Case(query, kinds, False, True, xfail)


R = "conf_http_requests_total"
CPU = "conf_cpu_seconds_total"
T = "conf_temperature_celsius"
Q = "conf_queue_depth"
H = "conf_request_duration_seconds"
W = "conf_weird_values"
T0 = 1704067200
EB = "conf_edge_bucket"
S = "conf_sparse_total"
