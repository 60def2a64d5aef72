"""``python tripod_app.py URL``: the tripod SDK (``tripod.init`` with an OTLP endpoint) sends
one request's spans and logs to URL as an app would, and prints the ids as a JSON line."""

from __future__ import annotations

import json
import sys

import tripod


def main(url: str) -> None:
    tripod.init(service_name="cart", otlp_endpoint=url)
    log = tripod.get_logger("cart")
    with tripod.span("GET /cart", route="/cart") as root:
        log.info("cart loaded", extra={"items": 3})
        with tripod.span("load prices") as child:
            log.warning("price cache miss")
        ctx = root.get_span_context()
    log.info("outside any span")
    tripod.force_flush()
    tripod.shutdown()
    ids = {
        "trace_id": f"{ctx.trace_id:032x}",
        "root": f"{ctx.span_id:016x}",
        "child": f"{child.get_span_context().span_id:016x}",
    }
    print(json.dumps(ids))


if __name__ == "__main__":
    main(sys.argv[1])
