"""A Celery worker and a Starlette web app that enqueues its tasks, both instrumented by tripod.

Worker: ``celery -A examples.celery_app.tasks worker``;
web: ``uvicorn examples.celery_app.web:app``.
The broker is ``$CELERY_BROKER_URL`` (default ``redis://127.0.0.1:6379/0``).
"""
