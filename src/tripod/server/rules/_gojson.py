"""JSON text as Prometheus's API writes it (Go's ``encoding/json`` through jsoniter's standard
library mode): floats in Go's shortest form (``60`` not ``60.0``, ``0.000012`` not ``1.2e-05``),
``<``, ``>`` and ``&`` escaped as ``\\u003c`` ``\\u003e`` ``\\u0026``, U+2028/U+2029 escaped."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

__all__ = ["go_float", "go_json"]

_HTML = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def go_float(v: float) -> str:
    """``json.Marshal(float64)``: shortest digits, fixed notation unless 1e-6 > |v| >= 1e21."""
    if math.isnan(v) or math.isinf(v):
        msg = f"json: unsupported value: {v}"
        raise ValueError(msg)
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    text = repr(v)
    if abs(v) < 1e-6 or abs(v) >= 1e21:  # repr is already Go's 'e' form here
        return text.replace("e-0", "e-")
    fixed = format(Decimal(text), "f")
    return fixed.removesuffix(".0") if "." in fixed else fixed


def go_json(value: Any) -> str:
    """``value`` (dicts, lists, str, int, float, bool, None) as Go would marshal it, compact."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool):
        out.append(json.dumps(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(go_float(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False).translate(_HTML))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(",")
            _write(str(k), out)
            out.append(":")
            _write(v, out)
        out.append("}")
    elif isinstance(value, Sequence):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _write(v, out)
        out.append("]")
    else:
        msg = f"json: unsupported type: {type(value).__name__}"
        raise TypeError(msg)
