"""Framework integrations: ASGI, WSGI (and later Django, Celery, ...)."""
