from prometheus_client import Counter, Histogram

VIEWS = Counter("orders_views_total", "Order page views, by page.", ["page"])
LOOKUP = Histogram("orders_lookup_seconds", "Order lookup time.", ["table"])
