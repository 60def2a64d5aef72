"""Storage of series/samples, spans and log records."""
