"""The shop's one task: confirm an order (an ORM query and an update, both traced)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import tripod

from .celery_app import app
from .models import Order

log = tripod.get_logger("shop.tasks")


def task(name: str) -> Callable[[Callable[..., Any]], Any]:
    """``app.task``, typed (celery ships no type hints)."""
    decorator: Callable[[Callable[..., Any]], Any] = app.task(name=name)
    return decorator


@task("shop.confirm_order")
def confirm_order(order_id: int) -> str:
    updated = Order.objects.filter(id=order_id, status="open").update(status="confirmed")
    log.info("order confirmed", extra={"order_id": order_id, "worker_pid": os.getpid()})
    return "confirmed" if updated else "unchanged"
