"""``python -m tripod.server.config`` prints docs/server-config.md."""

from tripod.server.config._docs import reference_markdown

print(reference_markdown(), end="")
