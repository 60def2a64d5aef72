"""A Flask service instrumented with tripod (used by the WSGI e2e tests).

Run: ``gunicorn examples.flask_service:app`` or ``waitress-serve examples.flask_service:app``.
``/checkout`` calls ``$DEMO_DOWNSTREAM_URL/inventory/{sku}`` with requests.
"""

from __future__ import annotations

import os

import requests
from flask import Flask, abort

import tripod

tripod.init(service_name=os.environ.get("OTEL_SERVICE_NAME") or "flask-shop")
log = tripod.get_logger("flask.shop")

app = Flask(__name__)
DOWNSTREAM = os.environ.get("DEMO_DOWNSTREAM_URL", "http://127.0.0.1:8000")


@app.get("/orders/<int:order_id>")
def get_order(order_id: int) -> dict[str, object]:
    if order_id == 0:
        abort(404)
    with tripod.span("load order", order_id=order_id):
        log.info("order loaded", extra={"order_id": order_id})
    return {"order_id": order_id, "status": "shipped"}


@app.post("/checkout")
def checkout() -> dict[str, object]:
    stock = requests.get(f"{DOWNSTREAM}/inventory/sku-1", timeout=5)
    return {"downstream_status": stock.status_code}


@app.get("/boom")
def boom() -> dict[str, object]:
    msg = "payment provider exploded"
    raise RuntimeError(msg)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


app = tripod.instrument(app)
