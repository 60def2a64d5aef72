"""Celery for the shop: ``celery -A examples.django_shop.shop.celery_app worker``.

The worker sets Django up first, so tripod's Django app runs ``tripod.init(**TRIPOD)``, which
instruments Celery too; the web process imports this module (through ``shop.tasks``) to send.
"""

from __future__ import annotations

import os

import django
from celery import Celery
from django.apps import apps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_shop.settings")
if not apps.ready:  # the worker; in the web process Django is already set up
    django.setup()

app = Celery("django_shop", broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.broker_connection_retry_on_startup = True
app.conf.imports = ["examples.django_shop.shop.tasks"]
