"""The shop app: one model, three views."""
