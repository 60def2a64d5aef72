"""An unmodified Flask app: no tripod import. ``tripod run`` must instrument it."""

from __future__ import annotations

import os

from flask import Flask

app = Flask(__name__)


@app.get("/orders/<int:order_id>")
def order(order_id: int) -> dict[str, int]:
    return {"id": order_id}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]))
