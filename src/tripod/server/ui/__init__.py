"""The web UI's static files, served by ``tripod serve`` on its own port.

``ui/`` (TypeScript, Preact) is built by ``make ui`` (esbuild) into ``static/`` next to this file;
the wheel and sdist carry that output, so installing tripod never needs Node. Routes:

- ``/`` and every page path (``/explore``, ``/traces/<id>`` ...): ``index.html``, with a strict
  Content-Security-Policy (no inline script or style) and ``Cache-Control: no-cache``;
- ``/ui/assets/<file>``: content-hashed JS/CSS, cached for a year, gzip when the client accepts
  it (``<file>.gz`` is written by the build);
- ``/ui/THIRD_PARTY_LICENSES.txt`` and ``/ui/manifest.json``.

With ``--token`` these paths are open (:func:`is_open_path`): the page holds no data, and every
``/api`` call it makes carries the token. Without a build, the page paths answer a short page
saying how to build the UI.
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

__all__ = ["CSP", "PAGES", "STATIC_DIR", "is_open_path", "routes"]

#: Where ``make ui`` writes the build (gitignored; packaged by the hatch build hook).
STATIC_DIR = Path(__file__).resolve().parent / "static"

#: The first path segment of every page of the app (ui/src/main.tsx's PAGES); "" is Home.
PAGES = ("dashboards", "explore", "traces", "logs", "alerts")

#: No inline script or style anywhere: the HTML loads one script and one stylesheet; CodeMirror
#: styles through constructable stylesheets and uPlot/Preact set element.style (CSSOM), which
#: ``style-src 'self'`` allows.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)

_ASSET = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}")
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
_SAFE = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
_HTML_HEADERS = {**_SAFE, "Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
_UI_FILES = ("THIRD_PARTY_LICENSES.txt", "manifest.json")

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tripod: UI not built</title></head>
<body><h1>tripod serve is running; its web UI is not built</h1>
<p>This copy of tripod has no built UI (<code>{static}</code> is missing). Build it from a
source checkout with <code>make ui</code> (needs Node.js and npm), or install a tripod wheel,
which carries the built UI.</p>
<p>The APIs work without it: <a href="/api/v1/status/buildinfo">/api/v1/status/buildinfo</a>,
<a href="/metrics">/metrics</a>.</p></body></html>
"""


def is_open_path(path: str) -> bool:
    """True for the UI's own paths (pages, assets): served without the bearer token."""
    if path == "/" or path.startswith("/ui/"):
        return True
    first = path[1:].split("/", 1)[0]
    return first in PAGES


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


async def _file(
    request: Request, path: Path, media_type: str, headers: dict[str, str]
) -> Response | None:
    """``path`` (or its ``.gz`` when the client takes gzip), or None when it does not exist."""
    if _accepts_gzip(request):
        body = await run_in_threadpool(_read, path.with_name(path.name + ".gz"))
        if body is not None:
            encoded = {**headers, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
            return Response(body, media_type=media_type, headers=encoded)
    body = await run_in_threadpool(_read, path)
    if body is None:
        return None
    return Response(body, media_type=media_type, headers={**headers, "Vary": "Accept-Encoding"})


def routes(static_dir: Path | None = None) -> list[BaseRoute]:
    """The UI's routes over ``static_dir`` (default :data:`STATIC_DIR`); add them last."""
    root = static_dir or STATIC_DIR

    async def index(request: Request) -> Response:
        found = await _file(request, root / "index.html", "text/html; charset=utf-8", _HTML_HEADERS)
        if found is not None:
            return found
        page = _NOT_BUILT.format(static=root)
        return HTMLResponse(page, headers={**_HTML_HEADERS, "X-Tripod-UI": "not-built"})

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if not _ASSET.fullmatch(name) or name.endswith(".gz") or ".." in name:
            return PlainTextResponse("not found\n", status_code=404, headers=_SAFE)
        media = _TYPES.get(Path(name).suffix, "application/octet-stream")
        cache = {**_SAFE, "Cache-Control": "public, max-age=31536000, immutable"}
        found = await _file(request, root / "assets" / name, media, cache)
        if found is None:
            return PlainTextResponse(f"no UI asset {name!r}\n", status_code=404, headers=_SAFE)
        return found

    async def ui_file(request: Request) -> Response:
        name = request.url.path.removeprefix("/ui/")
        media = _TYPES[Path(name).suffix]
        found = await _file(request, root / name, media, {**_SAFE, "Cache-Control": "no-cache"})
        if found is None:
            msg = f"{name} is part of the UI build, which is missing: run `make ui`\n"
            return PlainTextResponse(msg, status_code=404, headers=_SAFE)
        return found

    methods = ["GET", "HEAD"]
    pages: list[BaseRoute] = [Route("/", index, methods=methods)]
    for page in PAGES:
        pages.append(Route(f"/{page}", index, methods=methods))
        pages.append(Route(f"/{page}/{{rest:path}}", index, methods=methods))
    return [
        *pages,
        Route("/ui/assets/{name}", asset, methods=methods),
        *(Route(f"/ui/{name}", ui_file, methods=methods) for name in _UI_FILES),
    ]
