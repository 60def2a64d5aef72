"""A stock Celery app: no tripod anywhere. ``tripod run -- celery -A ... worker`` must add it."""

import os

from celery import Celery

app = Celery("plain", broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.broker_connection_retry_on_startup = True


@app.task(name="plain.double")  # type: ignore[misc]
def double(x: int) -> int:
    return 2 * x
