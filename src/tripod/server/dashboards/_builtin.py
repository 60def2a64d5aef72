"""The built-in dashboard (uid ``tripod-red``, which Home links to): the RED dashboard
``tripod generate`` writes, made at run time from the metric catalog for every job; listed
next to the ``--dashboards`` files unless one of them has its uid.

``tripod generate`` needs the ``codegen`` extra (grafana-foundation-sdk), which ``tripod[server]``
does not pull in; without it there is no built-in dashboard and the list says how to get one.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from tripod.server.dashboards._load import Entry, parse_dashboard

__all__ = ["BUILTIN_FILE", "BUILTIN_UID", "builtin_dashboard"]

BUILTIN_UID = "tripod-red"
BUILTIN_FILE = "(built-in)"
NO_CODEGEN = (
    "the built-in RED dashboard needs tripod generate (pip install 'tripod[codegen]'); "
    "pass --dashboards DIR to show your own"
)
_log = logging.getLogger("tripod.server")


def _model() -> dict[str, Any]:
    from tripod.codegen import parse_service, render

    service = parse_service(
        {
            "service": "tripod",
            "team": "tripod",
            "runbook_url": "https://github.com/tripod/tripod/tree/main/docs",
        },
        source="tripod serve (built-in)",
    )
    files = render(service, ["grafana"])
    data = next(v for k, v in files.items() if k.startswith("grafana/dashboards/"))
    model: dict[str, Any] = json.loads(data)
    model["uid"] = BUILTIN_UID
    model["title"] = "Services (RED)"
    model["description"] = (
        "Request rate, errors and duration of every service that sends tripod's built-in HTTP "
        "metrics; built by tripod serve from the metric catalog (tripod generate's dashboard)."
    )
    model["tags"] = ["built-in", "tripod"]
    for variable in model.get("templating", {}).get("list", []):
        if variable.get("name") == "job":
            variable.pop("current", None)  # the first job seen, not a service named "tripod"
    return model


def builtin_dashboard() -> tuple[Entry | None, str]:
    """The built-in entry and an empty note, or ``None`` and why there is none."""
    try:
        model = _model()
    except ImportError:
        return None, NO_CODEGEN
    except Exception:  # a codegen bug must not take the UI's list down with it
        _log.exception("the built-in dashboard could not be generated")
        return None, "the built-in RED dashboard could not be generated; see the server log"
    model, uid, title, tags = parse_dashboard(model, BUILTIN_FILE)
    return Entry(uid, title, tags, BUILTIN_FILE, model), ""
