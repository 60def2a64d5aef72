"""A Flask storefront instrumented by tripod, with bounded labels."""

import logging
import time

import tripod
from flask import Blueprint, Flask, request

tripod.init(service_name="storefront")
log = tripod.get_logger("storefront")
stdlog = logging.getLogger("storefront.std")
app = Flask(__name__)
admin = Blueprint("admin", __name__)

SEARCHES = tripod.counter("storefront_searches", "Searches, by result.", labels=["result"])
RENDER = tripod.histogram("storefront_render_seconds", "Page render time.", labels=["page"])
ERRORS = tripod.counter("storefront_errors", "Errors, by exception class.", labels=["error_type"])


@app.route("/search")
def search() -> str:
    query = request.args.get("q", "")
    SEARCHES.labels(result="hit" if query else "empty").inc()
    start = time.perf_counter()
    RENDER.labels(page="search").observe(time.perf_counter() - start)
    stdlog.info("search served", extra={"query_length": len(query)})
    return "ok"


@admin.route("/admin/upload", methods=["POST"])
def upload() -> str:
    token = request.headers.get("X-Token", "")
    log.info("upload", token_present=bool(token))
    try:
        RENDER.labels(page="upload").observe(0.01)
    except ValueError as exc:
        ERRORS.labels(error_type=type(exc).__name__).inc()
        stdlog.exception("upload failed")
    return "ok"


app.register_blueprint(admin)
app = tripod.instrument(app)
