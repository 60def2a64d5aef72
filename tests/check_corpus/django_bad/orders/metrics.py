from prometheus_client import Counter, Histogram

VIEWS = Counter("orders_views_total", "Order page views, by user.", ["user"])
SIGNUPS = Counter("orders_signups_total", "Signups.", ["orders_signups"])  # planted: naming-label-repeats-name
PAGE_VIEWS = Counter("orders.page-views", "Page views.")  # planted: naming-invalid
LOOKUP = Histogram("orders_lookup_seconds", "Order lookup time.", ["table"])
