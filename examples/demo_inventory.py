"""The demo shop's inventory service: FastAPI, instrumented with tripod, called by the shop's
``/checkout`` over HTTP; each lookup enqueues ``demo.reserve_stock`` for the Celery worker
(``examples/demo_worker.py``) when ``DEMO_BROKER_URL`` is set.

During an incident (the file named by ``DEMO_INCIDENT_FILE`` exists, which ``make demo``
creates every few minutes) lookups are slow and a third of them fail with 503, so the shop's
checkouts fail too and the demo's alert fires, then resolves when the file goes away.

Run: ``uvicorn examples.demo_inventory:app --port 8001``.
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

from celery import Celery
from fastapi import FastAPI, HTTPException
from starlette.concurrency import run_in_threadpool

import tripod

tripod.init(service_name=os.environ.get("OTEL_SERVICE_NAME") or "demo-inventory")
log = tripod.get_logger("demo.inventory")
INCIDENT = Path(os.environ.get("DEMO_INCIDENT_FILE", "/nonexistent/demo-incident"))
BROKER = os.environ.get("DEMO_BROKER_URL", "")
# Only the sending side: tasks are sent by name to examples/demo_worker.py's queue.
queue = Celery("demo_inventory", broker=BROKER) if BROKER else None

app = FastAPI(title="tripod demo inventory")


def _enqueue(sku: str) -> None:
    assert queue is not None
    try:
        queue.send_task("demo.reserve_stock", (sku,), retry=False)
    except Exception as exc:  # the broker is down: the lookup still answers
        log.warning("could not enqueue the reservation", extra={"sku": sku, "error": str(exc)})


@app.get("/inventory/{sku}")
async def inventory(sku: str) -> dict[str, object]:
    incident = INCIDENT.exists()
    with tripod.span("inventory lookup", sku=sku, incident=incident):
        await asyncio.sleep(random.uniform(0.15, 0.4) if incident else random.uniform(0.001, 0.004))
    if incident and random.random() < 0.35:
        log.error("inventory database timed out", extra={"sku": sku})
        raise HTTPException(status_code=503, detail="inventory database timed out")
    if queue is not None:
        await run_in_threadpool(_enqueue, sku)
    log.info("stock checked", extra={"sku": sku, "in_stock": 7})
    return {"sku": sku, "in_stock": 7}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = tripod.instrument(app)
