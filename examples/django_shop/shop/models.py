"""One table: orders."""

from __future__ import annotations

from django.db import models


class Order(models.Model):  # type: ignore[misc]  # Django ships no type hints
    email = models.CharField(max_length=200)
    status = models.CharField(max_length=20, default="open")
