"""The SDK: runs inside the user's process. Imports nothing from tripod.server."""
