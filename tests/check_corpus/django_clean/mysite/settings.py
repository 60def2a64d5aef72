"""Settings of a Django project instrumented by tripod's Django app."""

SECRET_KEY = "corpus-only"
INSTALLED_APPS = ["django.contrib.contenttypes", "tripod.sdk.integrations.django", "orders"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "mysite.urls"
TRIPOD = {"service_name": "orders"}
