"""glibc malloc settings for a long-running ``tripod serve``, and giving freed memory back.

Under steady ingest with queries running, glibc's defaults let the resident size creep: each
thread that allocates may get its own arena (up to 8 per core), each arena keeps the memory its
frees leave behind, and the mmap threshold rises to the largest block freed so far, after which
large numpy columns and request bodies are carved out of the arenas too and fragment them (the
soak benchmark saw glibc hold ≈ 300 MB of free memory after four minutes, growing). So when the
store opens, :func:`tune_allocator` caps the arenas at 2 and pins the mmap threshold at 128 KiB
(large blocks are mapped and unmapped on free), and the retention loop calls
:func:`release_memory` (``malloc_trim(0)``) once per check interval.

Nothing is changed when the process is not on glibc, or when the operator tuned malloc
themselves (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``, … or ``glibc.malloc`` tunables in
``GLIBC_TUNABLES``): their settings win.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

__all__ = ["ARENA_MAX", "MMAP_THRESHOLD", "operator_tuned", "release_memory", "tune_allocator"]

ARENA_MAX = 2
MMAP_THRESHOLD = 128 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt parameters, from glibc's malloc.h
_M_ARENA_MAX = -8

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
    """Cap glibc's arenas and pin its mmap threshold (see the module doc); True if applied."""
    libc = _libc()
    if libc is None or operator_tuned():
        return False
    arenas = int(libc.mallopt(_M_ARENA_MAX, ARENA_MAX))
    threshold = int(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return arenas == 1 and threshold == 1


def release_memory() -> bool:
    """Give the free memory glibc holds back to the system (``malloc_trim(0)``); True if some
    was released. Does nothing off glibc or when the operator tuned malloc."""
    libc = _libc()
    if libc is None or operator_tuned():
        return False
    return int(libc.malloc_trim(0)) == 1
