"""The shop API, instrumented by tripod."""

import logging
import time

import tripod
from fastapi import FastAPI, Request

from shop.metrics import CART_ITEMS, ORDERS, PAYMENT_TIME

tripod.init(service_name="shop")
logger = logging.getLogger(__name__)
app = FastAPI()


@app.get("/orders/{order_id}")
async def get_order(order_id: str, request: Request) -> dict[str, str]:
    ORDERS.labels(status="ok").inc()
    logger.info("order read", extra={"order_route": "/orders/{order_id}"})
    return {"id": order_id}


@app.post("/pay")
async def pay(request: Request) -> dict[str, str]:
    body = await request.json()
    start = time.perf_counter()
    try:
        provider = str(body["provider"])
    except KeyError:
        logger.warning("payment without provider")
        raise
    with PAYMENT_TIME.labels(provider="card").time():
        CART_ITEMS.set(len(body.get("items", [])))
    logger.info("paid in %.3f s via %s", time.perf_counter() - start, provider)
    return {"status": "ok"}


app = tripod.instrument(app)
