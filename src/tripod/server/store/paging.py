"""Keyset pages of newest-first results, shared by trace search and log search.

A page is read with ``LIMIT limit + 1``; the extra row only says that more exist. The ``next``
cursor names the last row kept by its (time, key) pair — the trace's first start and trace id,
or the record's time and arrival number — and the next query asks for rows strictly before it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["decode_cursor", "encode_cursor", "page"]

Row = TypeVar("Row", bound=Sequence[Any])


def encode_cursor(time_ns: int, key: str) -> str:
    """The ``next`` cursor standing for the row at (``time_ns``, ``key``)."""
    return base64.urlsafe_b64encode(f"{time_ns}:{key}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The (time, key) a ``next`` cursor stands for; ValueError when it is not one of ours."""
    try:
        first, _, second = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        return int(first), second
    except (ValueError, UnicodeDecodeError) as exc:
        msg = f"cursor {cursor[:40]!r} is not a 'next' value this server returned"
        raise ValueError(msg) from exc


def page(
    rows: list[Row], limit: int, position: Callable[[Row], tuple[int, str]]
) -> tuple[list[Row], str | None]:
    """The first ``limit`` of ``rows`` (read with ``LIMIT limit + 1``) and the cursor after the
    last one (``position`` gives its (time, key)), or None when no row was left over."""
    if len(rows) <= limit:
        return rows, None
    kept = rows[:limit]
    return kept, (encode_cursor(*position(kept[-1])) if kept else None)
