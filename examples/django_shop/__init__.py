"""A tiny Django project instrumented by tripod (see docs/integrations.md#django)."""
