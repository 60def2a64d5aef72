"""store/memory.py: glibc malloc tuning and giving free memory back (real libc, no mocks)."""

from __future__ import annotations

import platform

import pytest

from tripod.server.store import memory

glibc = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="malloc_trim and mallopt are glibc's"
)


def test_operator_settings_win() -> None:
    assert not memory.operator_tuned({"PATH": "/usr/bin"})
    assert memory.operator_tuned({"MALLOC_ARENA_MAX": "4"})
    assert memory.operator_tuned({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"})
    assert not memory.operator_tuned({"GLIBC_TUNABLES": "glibc.rtld.nns=2"})


@glibc
def test_tune_and_release(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in __import__("os").environ if n.startswith("MALLOC_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert memory.tune_allocator()
    # 64 MB of small blocks (below the mmap threshold: they live in the heap), then freed:
    # glibc keeps most of it until malloc_trim gives it back.
    blocks = [bytearray(4000) for _ in range(16_000)]
    del blocks
    assert memory.release_memory()


@glibc
def test_left_alone_when_operator_tuned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not memory.tune_allocator()
    blocks = [bytearray(4000) for _ in range(16_000)]
    del blocks
    assert not memory.release_memory()
