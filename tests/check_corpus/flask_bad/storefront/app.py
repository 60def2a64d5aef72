"""A Flask storefront that declares tripod metrics but never calls tripod.init()/instrument()."""

import logging
import time
import uuid

import tripod
from flask import Blueprint, Flask, request
from prometheus_client import Gauge, Histogram

log = logging.getLogger("storefront")
app = Flask(__name__)
admin = Blueprint("admin", __name__)

SEARCHES = tripod.counter("storefront_searches", "Searches, by query.", labels=["query"])
RENDER = tripod.histogram("storefront_render_seconds", "Page render time.", labels=["page"])
EXPORTS = tripod.counter("storefront_exports", "Catalogue exports.")  # planted: never-recorded
WORKERS = Gauge("storefront_workers_count", "Busy workers.")  # planted: naming-reserved-suffix
TEMPLATE_TIME = Histogram("storefront_template_histogram_seconds", "Template time.")  # planted: naming-type-in-name
ERRORS = tripod.counter("storefront_errors", "Errors, by message.", labels=["reason"])
UPLOADS = tripod.counter("storefront_uploads", "Uploads, by id.", labels=["upload"])


@app.route("/search")  # planted: coverage
def search() -> str:
    SEARCHES.labels(query=request.args.get("q", "")).inc()  # planted: cardinality
    start = time.perf_counter()
    page = "search"
    RENDER.labels(page=page).observe((time.perf_counter() - start) * 1000)  # planted: unit-mismatch
    return "ok"


@admin.route("/admin/upload", methods=["POST"])  # planted: coverage
def upload() -> str:
    UPLOADS.labels(upload=str(uuid.uuid4())).inc()  # planted: cardinality
    token = request.headers.get("X-Token", "")
    log.info("upload", extra={"token": token})  # planted: log-secret
    try:
        WORKERS.inc()
        TEMPLATE_TIME.observe(0.01)
    except ValueError as exc:
        ERRORS.labels(reason=str(exc)).inc()  # planted: cardinality
    return "ok"


def tagged(**tags: str) -> None:
    ERRORS.labels(**tags).inc()  # planted: cardinality-kwargs


app.register_blueprint(admin)
