"""URL patterns: their templates become the ``http_route`` label."""

from __future__ import annotations

from django.urls import path

from .shop import views

urlpatterns = [
    path("health", views.health),
    path("orders/<int:order_id>/", views.order),
    path("orders/<int:order_id>/confirm", views.confirm),
    path("orders/export", views.export),
    path("boom", views.boom),
]
