"""Settings of a Django project that never installs an instrumentation middleware or app."""

SECRET_KEY = "corpus-only"
INSTALLED_APPS = ["django.contrib.contenttypes", "orders"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "mysite.urls"
