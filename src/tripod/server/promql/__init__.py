"""The PromQL engine and the Prometheus HTTP API."""
