from prometheus_client import Counter, Gauge

LOOKUP = Gauge("orders_lookup_seconds", "Last order lookup time.")  # planted: naming-duplicate, never-recorded
EXPORTED = Counter("orders_exported_total", "Orders exported to the warehouse.")  # planted: never-recorded
