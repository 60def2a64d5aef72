"""Metrics of the shop API, declared once and recorded where the events happen."""

import tripod
from prometheus_client import Counter, Histogram

ORDERS = Counter("shop_orders_total", "Orders placed, by status.", ["status"])
PAYMENT_TIME = Histogram(
    "shop_payment_duration_seconds", "Time to authorise a payment.", ["provider"]
)
CART_ITEMS = tripod.gauge("shop_cart_items", "Items in open carts.")
