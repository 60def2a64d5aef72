"""Settings of the example shop: tripod's app and middleware, SQLite."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "tripod.sdk.integrations.django",  # calls tripod.init(**TRIPOD) when Django is ready
    "examples.django_shop.shop",
]
MIDDLEWARE = [
    "tripod.sdk.integrations.django.TripodMiddleware",  # first: times the whole chain
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "examples.django_shop.urls"
WSGI_APPLICATION = "examples.django_shop.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_SHOP_DB", str(BASE_DIR / "shop.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
LOGGING_CONFIG = None  # tripod's JSON logging stays in charge

TRIPOD = {"service_name": os.environ.get("OTEL_SERVICE_NAME") or "django-shop"}
