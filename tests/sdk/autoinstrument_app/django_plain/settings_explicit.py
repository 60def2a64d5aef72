"""The same project set up by hand, as docs/integrations.md shows: tripod's app and middleware."""

from tests.sdk.autoinstrument_app.django_plain.settings import *  # noqa: F403

INSTALLED_APPS = ["tripod.sdk.integrations.django"]
MIDDLEWARE = [
    "tripod.sdk.integrations.django.TripodMiddleware",
    "django.middleware.common.CommonMiddleware",
]
