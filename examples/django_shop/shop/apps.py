"""The shop app's config."""

from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):  # type: ignore[misc]  # Django ships no type hints
    name = "examples.django_shop.shop"
    label = "shop"
