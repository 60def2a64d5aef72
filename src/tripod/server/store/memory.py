"""glibc malloc settings for a long-running ``tripod serve``, and giving freed memory back.

Under steady ingest with queries running, glibc's defaults let the resident size creep: each
thread that allocates may get its own arena (up to 8 per core) and each arena keeps the memory
its frees leave behind (the soak benchmark saw glibc hold ≈ 300 MB of free memory after four
minutes, growing). So when the store opens, :func:`tune_allocator` caps the arenas at 2, and the
retention loop calls :func:`release_memory` (``malloc_trim(0)``) once per check interval.

The mmap threshold is left dynamic on purpose. Pinning it low (128 KiB, tried first) makes every
large numpy column of a range query a fresh ``mmap`` whose pages fault in and are zeroed on each
query: PromQL range queries took 1.7 to 3.8 times as long (benchmarks/promql.py; see
docs/benchmarks.md).

Nothing is changed when the process is not on glibc, or when the operator tuned malloc
themselves (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``, … or ``glibc.malloc`` tunables in
``GLIBC_TUNABLES``): their settings win.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

__all__ = ["ARENA_MAX", "operator_tuned", "release_memory", "tune_allocator"]

ARENA_MAX = 2
_M_ARENA_MAX = -8  # mallopt parameter, from glibc's malloc.h

_state: dict[str, ctypes.CDLL | None] = {}


def operator_tuned(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """Whether malloc was configured through the environment (then tripod leaves it alone)."""
    env = os.environ if environ is None else environ
    return any(name.startswith("MALLOC_") for name in env) or "glibc.malloc" in env.get(
        "GLIBC_TUNABLES", ""
    )


def _libc() -> ctypes.CDLL | None:
    if "libc" not in _state:
        lib = None
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            try:
                lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            except OSError:
                lib = None
            if lib is not None and not all(hasattr(lib, f) for f in ("mallopt", "malloc_trim")):
                lib = None
        _state["libc"] = lib
    return _state["libc"]


def tune_allocator() -> bool:
    """Cap glibc's arenas (see the module doc); True if applied."""
    libc = _libc()
    if libc is None or operator_tuned():
        return False
    return int(libc.mallopt(_M_ARENA_MAX, ARENA_MAX)) == 1


def release_memory() -> bool:
    """Give the free memory glibc holds back to the system (``malloc_trim(0)``); True if some
    was released. Does nothing off glibc or when the operator tuned malloc."""
    libc = _libc()
    if libc is None or operator_tuned():
        return False
    return int(libc.malloc_trim(0)) == 1
