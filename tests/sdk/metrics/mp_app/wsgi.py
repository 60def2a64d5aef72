"""A tiny WSGI app with explicit tripod init, for the multi-process tests (run by gunicorn)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import tripod


def _plain(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Pid", str(os.getpid()))])
    return [environ.get("PATH_INFO", "").encode()]


tripod.init(service_name="mp-test")
app = tripod.instrument(_plain)
