"""A Celery worker instrumented by tripod (tripod.init() hooks Celery's signals)."""

import logging
import time

import tripod
from celery import Celery, shared_task
from prometheus_client import Counter, Histogram

tripod.init(service_name="worker")
app = Celery("worker", broker="redis://localhost:6379/0")
logger = logging.getLogger(__name__)

TASK_TIME = Histogram("worker_task_duration_seconds", "Task run time.", ["task"])
CHARGES = Counter("worker_charges_total", "Charges made, by plan.", ["plan"])


@app.task(bind=True)
def charge(self: object, tenant_id: str, plan: str, amount: int) -> None:
    start = time.perf_counter()
    CHARGES.labels(plan=plan).inc()
    TASK_TIME.labels(task="charge").observe(time.perf_counter() - start)
    logger.info("charged", extra={"amount": amount, "tenant_id": tenant_id})


@shared_task
def refund(order: str) -> None:
    try:
        TASK_TIME.labels(task="refund").observe(0.0)
    except ValueError:
        logger.exception("refund failed for %s", order)
