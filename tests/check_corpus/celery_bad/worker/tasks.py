"""A Celery worker with metrics of its own and no instrumentation of its tasks."""

import logging
import time

from celery import Celery, shared_task
from opentelemetry import metrics
from prometheus_client import Counter, Gauge, Histogram

app = Celery("worker", broker="redis://localhost:6379/0")
logger = logging.getLogger(__name__)
meter = metrics.get_meter("worker")

TASK_TIME = Histogram("worker_task_duration_seconds", "Task run time.", ["task"])
CHARGES = Counter("worker_charges_total", "Charges made, by tenant.", ["tenant"])
RETRIES = Counter("worker_retries_total", "")  # planted: naming-help
STARTED = meter.create_counter("worker.tasks.started", description="Tasks started.")
DEPTH = Gauge("worker:queue_depth", "Tasks waiting in the queue.")  # planted: naming-reserved-chars
BACKLOG = Histogram("worker_backlog_seconds", "Queue wait.")  # planted: never-recorded


@app.task(bind=True)  # planted: coverage
def charge(self: object, tenant_id: str, amount: int) -> None:
    start = time.time_ns()
    CHARGES.labels(tenant=tenant_id).inc()  # planted: cardinality
    STARTED.add(1, {"user_id": tenant_id})  # planted: cardinality
    TASK_TIME.labels(task="charge").observe(time.time_ns() - start)  # planted: unit-mismatch
    logger.error(f"charged {amount}")  # planted: log-fstring


@shared_task  # planted: coverage
def refund(order: str, api_key: str) -> None:
    RETRIES.inc()
    DEPTH.dec()
    logger.info("refund %s", order, extra={"api_key": api_key})  # planted: log-secret
