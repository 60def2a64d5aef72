"""The stock ``wsgi.py`` Django generates."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE", "tests.sdk.autoinstrument_app.django_plain.settings"
)
application = get_wsgi_application()
