"""The demo shop: a FastAPI service instrumented with tripod (used by `make demo` and e2e tests).

Run: ``uvicorn examples.demo_service:app --port 8000`` (settings from the environment, e.g.
``OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318``). ``/checkout`` calls
``$DEMO_DOWNSTREAM_URL/inventory/{sku}`` over httpx (default: this service itself), so one
checkout is a trace across two requests.
"""

from __future__ import annotations

import asyncio
import os
import random

import httpx
from fastapi import FastAPI, HTTPException

import tripod

tripod.init(
    service_name=os.environ.get("OTEL_SERVICE_NAME") or "demo-shop", service_version="1.0.0"
)
log = tripod.get_logger("demo.shop")
if os.environ.get("DEMO_CONSOLE_SPANS") == "1":  # no backend: print each span as JSON to stdout
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    from tripod.sdk import tracing

    tracing.add_exporter(ConsoleSpanExporter())

app = FastAPI(title="tripod demo shop")
DOWNSTREAM = os.environ.get("DEMO_DOWNSTREAM_URL", "http://127.0.0.1:8000")


@tripod.traced
async def load_order(order_id: int) -> dict[str, object]:
    """A traced helper: its span is a child of the request's server span."""
    await asyncio.sleep(random.uniform(0.001, 0.005))
    return {"order_id": order_id, "status": "shipped", "total": round(order_id * 1.5, 2)}


@app.get("/orders/{order_id}")
async def get_order(order_id: int) -> dict[str, object]:
    if order_id == 0:
        raise HTTPException(status_code=404, detail="no such order")
    order = await load_order(order_id)
    log.info("order loaded", extra={"order_id": order_id})
    return order


@app.get("/inventory/{sku}")
async def inventory(sku: str) -> dict[str, object]:
    with tripod.span("inventory lookup", sku=sku):
        await asyncio.sleep(random.uniform(0.001, 0.003))
    return {"sku": sku, "in_stock": 7}


@app.post("/checkout")
async def checkout(sku: str = "sku-1") -> dict[str, object]:
    tripod.bind(sku=sku)
    async with httpx.AsyncClient(timeout=5.0) as client:
        stock = await client.get(f"{DOWNSTREAM}/inventory/{sku}")
    if stock.status_code >= 500:
        log.error("checkout failed: inventory unavailable", extra={"status": stock.status_code})
        raise HTTPException(status_code=502, detail="inventory unavailable")
    log.info("checkout done", extra={"downstream_status": stock.status_code})
    return {"sku": sku, "downstream_status": stock.status_code}


@app.get("/search")
async def search(q: str = "") -> dict[str, object]:
    """A slow endpoint: a "full-text search" of 50-600 ms."""
    with tripod.span("search index", query=q):
        await asyncio.sleep(random.uniform(0.05, 0.6))
    return {"query": q, "hits": random.randint(0, 40)}


@app.get("/boom")
async def boom() -> dict[str, object]:
    log.warning("about to fail", extra={"api_key": "not-logged"})
    msg = "payment provider exploded"
    raise RuntimeError(msg)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = tripod.instrument(app)
