"""The shop API: a FastAPI app that never calls tripod.init()/instrument()."""

import logging
import time

from fastapi import FastAPI, Request

from shop.metrics import CART_ITEMS, LOGINS, ORDERS, PAYMENT_TIME, QUEUE, REQUEST_LATENCY

logger = logging.getLogger(__name__)
app = FastAPI()


@app.get("/orders/{order_id}")  # planted: coverage
async def get_order(order_id: str, request: Request) -> dict[str, str]:
    start = time.perf_counter()
    ORDERS.labels(status=request.url.path).inc()  # planted: cardinality
    elapsed = time.perf_counter() - start
    REQUEST_LATENCY.labels(route="/orders/{order_id}").observe(elapsed / 1000)  # planted: unit-mismatch
    return {"id": order_id}


@app.post("/login")  # planted: coverage
async def login(request: Request) -> dict[str, str]:
    body = await request.json()
    password = body["password"]
    logger.info("login attempt with %s", password)  # planted: log-secret
    logger.info(f"user {body['user']} logged in")  # planted: log-fstring
    LOGINS.inc()
    try:
        QUEUE.set(len(body))
    except Exception:  # planted: swallowed-exception
        pass
    CART_ITEMS.set(0)
    PAYMENT_TIME.observe(0.2)
    return {"status": "ok"}
