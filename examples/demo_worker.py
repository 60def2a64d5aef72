"""The demo shop's background worker: a Celery app whose ``demo.reserve_stock`` task the
inventory service enqueues, so one checkout is a trace over three processes (shop -> inventory
over HTTP -> this worker over Redis).

Run: ``celery -A examples.demo_worker worker --pool solo`` with ``DEMO_BROKER_URL`` pointing at
a Redis (``make demo`` starts one on a free port). ``tripod.init()`` instruments Celery: the
task's span continues the producer's trace, its log lines carry the trace id.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

from celery import Celery

import tripod

tripod.init(service_name=os.environ.get("OTEL_SERVICE_NAME") or "demo-worker")
log = tripod.get_logger("demo.worker")

app = Celery("demo_worker", broker=os.environ.get("DEMO_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.broker_connection_retry_on_startup = True
app.conf.task_ignore_result = True
app.conf.worker_hijack_root_logger = False


def task(name: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``app.task``, typed (celery ships no type hints)."""
    decorator: Callable[[Callable[..., Any]], Any] = app.task(name=name, **options)
    return decorator


@task("demo.reserve_stock")
def reserve_stock(sku: str, quantity: int = 1) -> str:
    """Reserve stock: a few milliseconds of "database" work, now and then slow."""
    with tripod.span("reserve stock", sku=sku, quantity=quantity):
        time.sleep(random.uniform(0.002, 0.01) if random.random() > 0.05 else 0.2)
    log.info("stock reserved", extra={"sku": sku, "quantity": quantity})
    return sku
