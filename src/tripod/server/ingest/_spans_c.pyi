"""Types of the compiled span decoder (``_spans_c.c``; see its header comment)."""

from collections.abc import Callable
from typing import Any

def convert(
    body: bytes,
    max_attributes: int,
    max_value_length: int,
    on_resource: Callable[[bytes], tuple[Any, ...]],
    on_scope: Callable[[bytes], str],
    on_attr: Callable[[bytes], tuple[Any, ...]],
    on_span: Callable[[bytes, str, str, str], Any],
) -> tuple[list[list[Any]], list[tuple[str, str]]] | None: ...
