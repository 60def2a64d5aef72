"""Zero-code instrumentation: what ``tripod run -- <command>`` does inside the command's process.

``tripod run`` puts ``tripod/sdk/_bootstrap`` first on ``PYTHONPATH``; its ``sitecustomize``
calls :func:`bootstrap`, which runs ``tripod.init()`` from the environment only (``TRIPOD_*``,
``OTEL_*``; Celery is covered by ``init`` itself) and installs an import hook. The hook patches
each framework when (and only if) the program imports it, so nothing is imported early:

- ``flask.app``: ``Flask.__init__`` ends with ``tripod.instrument(self)`` (in place), so
  ``flask run``, ``app.run()`` and any server serving the app are covered;
- ``gunicorn.app.base``: ``BaseApplication.wsgi()`` returns the loaded app instrumented
  (sync, gthread, gevent and uvicorn workers all load the app through it);
- ``uvicorn.config``: ``Config.load()`` instruments the app uvicorn built (``--workers N`` too);
- ``django``: ``django.setup()`` ends by tracing the database connections (as tripod's Django
  app does in ``ready()``), so queries before the first request are traced too;
- ``django.core.handlers.base``: ``BaseHandler.load_middleware()`` puts tripod's middleware
  first in ``settings.MIDDLEWARE`` (and traces the connections, if ``setup()`` was bypassed).

An app already instrumented (explicitly, or by an earlier hook, also under a server's own
middleware such as uvicorn's proxy-headers wrapper) is left alone, and Django's handler is
left to the middleware, so nothing is measured twice. A failing hook logs one
warning and leaves the program running uninstrumented.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from tripod.sdk._active import current_settings
from tripod.sdk._setup import init, instrument

__all__ = ["bootstrap", "instrument_server_app"]

_log = logging.getLogger("tripod")
_DJANGO_MIDDLEWARE = "tripod.sdk.integrations.django.TripodMiddleware"


def _already_done(app: Any) -> bool:
    """True if ``app`` or an app a server's middleware wraps (``.app``, a few deep) is done."""
    for _ in range(8):
        if app is None:
            return False
        if getattr(app, "_tripod_instrumented", False):
            return True
        if type(app).__module__.startswith("django."):  # Django's middleware does it
            return True
        app = getattr(app, "app", None)
    return False


def instrument_server_app(app: Any) -> Any:
    """``app`` instrumented unless it (or what it wraps) is Django's handler or already done."""
    if app is None or _already_done(app):
        return app
    return instrument(app)


def _patch_flask(module: ModuleType) -> None:
    flask_cls: Any = module.Flask
    original: Callable[..., None] = flask_cls.__init__

    def init_then_instrument(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        instrument(self)

    flask_cls.__init__ = init_then_instrument


def _patch_gunicorn(module: ModuleType) -> None:
    base: Any = module.BaseApplication
    original: Callable[[Any], Any] = base.wsgi

    def wsgi(self: Any) -> Any:
        app = original(self)
        wrapped = instrument_server_app(app)
        if wrapped is not app:
            self.callable = wrapped  # later calls return the same wrapped app
        return wrapped

    base.wsgi = wsgi


def _patch_uvicorn(module: ModuleType) -> None:
    config: Any = module.Config
    original: Callable[[Any], None] = config.load

    def load(self: Any) -> None:
        original(self)
        self.loaded_app = instrument_server_app(self.loaded_app)

    config.load = load


def _patch_django(module: ModuleType) -> None:
    handler: Any = module.BaseHandler
    original: Callable[..., None] = handler.load_middleware

    def load_middleware(self: Any, *args: Any, **kwargs: Any) -> None:
        from django.conf import settings  # the hook runs only once Django is imported

        middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
        if _DJANGO_MIDDLEWARE not in middleware:
            settings.MIDDLEWARE = [_DJANGO_MIDDLEWARE, *middleware]
        from tripod.sdk.integrations.django._db import instrument_db

        instrument_db()
        original(self, *args, **kwargs)

    handler.load_middleware = load_middleware


def _patch_django_setup(module: ModuleType) -> None:
    """Trace queries from ``django.setup()`` on, as the explicit app does (e.g. runserver's
    migration check runs before any middleware is loaded)."""
    original: Callable[..., None] = module.setup

    def setup(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        try:
            from tripod.sdk.integrations.django._db import instrument_db

            instrument_db()
        except Exception:
            _log.warning("tripod run: could not trace Django's queries", exc_info=True)

    module.setup = setup  # type: ignore[attr-defined]


_PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "django": _patch_django_setup,
    "flask.app": _patch_flask,
    "gunicorn.app.base": _patch_gunicorn,
    "uvicorn.config": _patch_uvicorn,
    "django.core.handlers.base": _patch_django,
}


class _Loader(importlib.abc.Loader):
    """Runs the real loader, then the patch for that module."""

    def __init__(self, real: importlib.abc.Loader, patch: Callable[[ModuleType], None]) -> None:
        self._real = real
        self._patch = patch

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._real.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._real.exec_module(module)
        try:
            self._patch(module)
        except Exception:
            _log.warning("tripod run: could not instrument %s", module.__name__, exc_info=True)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the patched modules with the other finders and wraps their loaders."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        patch = _PATCHES.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            spec: importlib.machinery.ModuleSpec | None = (
                find(fullname, path, target) if find is not None else None
            )
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader, patch)
                return spec
        return None


def bootstrap() -> None:
    """Initialise tripod from the environment and hook the frameworks (once per process)."""
    if any(isinstance(finder, _Finder) for finder in sys.meta_path):
        return
    if current_settings() is None:
        try:
            init()
        except Exception as exc:  # a bad setting: say so once, run the program unobserved
            print(f"tripod run: not instrumenting: {exc}", file=sys.stderr)
            return
    for name, patch in _PATCHES.items():
        module = sys.modules.get(name)
        if module is not None:  # already imported (unusual this early)
            patch(module)
    sys.meta_path.insert(0, _Finder())
