"""Imported by Python at start-up under ``tripod run``: instrument, then run any other
``sitecustomize`` further along ``sys.path`` (ours must not hide the environment's own)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys


def _chain() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


try:
    from tripod.sdk.autoinstrument import bootstrap

    bootstrap()
except Exception as exc:  # never stop the user's program from starting
    print(f"tripod run: not instrumenting: {exc!r}", file=sys.stderr)
_chain()
