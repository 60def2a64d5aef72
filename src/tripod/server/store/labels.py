"""Prometheus's naming rules and the label limits, checked once per new series."""

from __future__ import annotations

import re

from tripod.server.config import Limits
from tripod.server.store.model import LabelError

__all__ = ["LABEL_NAME_RE", "METRIC_NAME_RE", "validate_labels"]

METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def validate_labels(labels: dict[str, str], lim: Limits) -> None:
    """Raise :class:`LabelError` when ``labels`` break a naming rule or a label limit."""
    name = labels.get("__name__")
    if not name:
        msg = f"series {labels} has no metric name (__name__); add one"
        raise LabelError("missing_metric_name", msg)
    if not METRIC_NAME_RE.match(name):
        msg = f"metric name {name!r} is invalid: expected [a-zA-Z_:][a-zA-Z0-9_:]*"
        raise LabelError("invalid_metric_name", msg)
    if len(labels) > lim.max_labels_per_series:
        msg = (
            f"series {name} has {len(labels)} labels, more than the limit "
            f"{lim.max_labels_per_series}; drop labels or raise limits.max_labels_per_series"
        )
        raise LabelError("too_many_labels", msg)
    for key, value in labels.items():
        if len(key) > lim.max_label_name_length:
            msg = (
                f"label name {key[:64]!r}... of {name} is {len(key)} characters, more than "
                f"limits.max_label_name_length {lim.max_label_name_length}"
            )
            raise LabelError("label_name_too_long", msg)
        if key != "__name__" and not LABEL_NAME_RE.match(key):
            msg = f"label name {key!r} of {name} is invalid: expected [a-zA-Z_][a-zA-Z0-9_]*"
            raise LabelError("invalid_label_name", msg)
        if len(value) > lim.max_label_value_length:
            msg = (
                f"label {key} of {name} has a value of {len(value)} characters, more than "
                f"limits.max_label_value_length {lim.max_label_value_length}"
            )
            raise LabelError("label_value_too_long", msg)
