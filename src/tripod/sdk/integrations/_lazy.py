"""Activate an integration when its library is imported, never by importing the library.

``tripod.init()`` asks for, say, the ``requests`` integration with :func:`when_imported`. If the
app has already imported ``requests``, the integration is applied at once; otherwise a finder on
``sys.meta_path`` waits for the first ``import requests`` and applies it right after the module
has run (a post-import hook, as ``wrapt``'s and OpenTelemetry's auto-instrumentation do). So an
app that never uses ``requests``, ``httpx`` or Celery pays nothing for them at start-up.

The finder is installed by ``init()`` (never by ``import tripod``), only while some hook is still
waiting, and it answers for the waited-for names only. A failing hook is logged once and the
import goes on: telemetry never breaks the host app.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import importlib.abc
    import importlib.machinery

__all__ = ["pending", "reset", "when_imported"]

_log = logging.getLogger("tripod")
_lock = threading.RLock()
#: module name -> hooks still waiting for its import (each runs once, then is dropped)
_waiting: dict[str, list[Callable[[ModuleType], object]]] = {}


def _run(name: str, module: ModuleType, hooks: Sequence[Callable[[ModuleType], object]]) -> None:
    for hook in hooks:
        try:
            hook(module)
        except Exception:
            _log.warning("tripod: could not instrument %s; continuing", name, exc_info=True)


def when_imported(name: str, hook: Callable[[ModuleType], object]) -> None:
    """Call ``hook(module)`` once module ``name`` is imported: now if it already is, else right
    after its first import. Never imports ``name`` itself."""
    module = sys.modules.get(name)
    if module is not None:
        _run(name, module, [hook])
        return
    with _lock:
        _waiting.setdefault(name, []).append(hook)
        if not any(isinstance(f, _Finder) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())


def pending() -> list[str]:
    """The module names hooks are still waiting for (tests, diagnostics)."""
    with _lock:
        return sorted(_waiting)


def reset() -> None:
    """Forget every waiting hook and remove the finder (``tripod.shutdown()``)."""
    with _lock:
        _waiting.clear()
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


class _Loader:
    """Runs the real loader, then the hooks waiting for that module (duck-typed as an
    ``importlib.abc.Loader``: importing ``importlib.abc`` would cost more than this file)."""

    def __init__(self, real: Any, name: str) -> None:
        self._real = real
        self._name = name

    def __getattr__(self, attr: str) -> object:  # get_resource_reader, is_package, ...
        return getattr(self._real, attr)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._real.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self._real.exec_module(module)
        with _lock:
            hooks = _waiting.pop(self._name, [])
            if not _waiting:
                sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]
        _run(self._name, module, hooks)


class _Finder:
    """Finds the waited-for modules with the other finders and wraps their loaders."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _waiting:
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, _Finder):
                continue
            find = getattr(finder, "find_spec", None)
            spec: importlib.machinery.ModuleSpec | None = (
                find(fullname, path, target) if find is not None else None
            )
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = cast("importlib.abc.Loader", _Loader(spec.loader, fullname))
                return spec
        return None
