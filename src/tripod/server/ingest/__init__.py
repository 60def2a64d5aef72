"""Ingest: OTLP/HTTP, Prometheus remote write, exposition import, scraping."""
