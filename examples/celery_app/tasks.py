"""The tasks: ``add`` (logs a line), ``flaky`` (asks for one retry, then succeeds) and ``boom``
(fails). ``tripod.init()`` instruments Celery: producer and worker alike need nothing else."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from celery import Celery

import tripod

tripod.init(service_name=os.environ.get("OTEL_SERVICE_NAME") or "celery-worker")
log = tripod.get_logger("celery_app.tasks")

app = Celery("celery_app", broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.broker_connection_retry_on_startup = True


def task(name: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``app.task``, typed (celery ships no type hints)."""
    decorator: Callable[[Callable[..., Any]], Any] = app.task(name=name, **options)
    return decorator


@task("celery_app.add")
def add(x: int, y: int) -> int:
    with tripod.span("sum numbers"):
        log.info("added", extra={"total": x + y, "worker_pid": os.getpid()})
    return x + y


@task("celery_app.flaky", bind=True, max_retries=3)
def flaky(self: Any, key: str) -> str:
    if self.request.retries < 1:
        log.info("flaky attempt failed, retrying", extra={"key": key})
        raise self.retry(countdown=0)
    log.info("flaky done", extra={"key": key})
    return key


@task("celery_app.boom")
def boom() -> None:
    msg = "task exploded"
    raise RuntimeError(msg)
