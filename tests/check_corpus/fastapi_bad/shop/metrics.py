"""Metrics of the shop API (each planted mistake carries a comment naming its rule)."""

from prometheus_client import Counter, Gauge, Histogram

ORDERS = Counter("shop_orders_total", "Orders placed, by status.", ["status"])
REQUEST_LATENCY = Histogram("shop_request_latency_ms", "Request latency.", ["route"])  # planted: naming-abbreviated-unit
CART_ITEMS = Gauge("shop_cart_items_total", "Items in open carts.")  # planted: naming-counter-total
REFUNDS = Counter("shop_refunds_total", "Refunds issued.")  # planted: never-recorded
PAYMENT_TIME = Histogram("shop_payment_duration_minutes", "Time to authorise a payment.")  # planted: naming-base-unit
QUEUE = Gauge("shopQueueDepth", "Orders waiting for a picker.")  # planted: naming-camel-case
LOGINS = Counter("shop_logins_total", "")  # planted: naming-help
