"""Trace and log search behind /api/v1/traces and /api/v1/logs."""
