"""The web UI as `tripod serve --token` serves it: the page with its CSP, the assets with their
types, gzip and caching, page paths answered by index.html, the token asked only by /api, the
licence file; and the page a server without a build answers."""

from __future__ import annotations

import asyncio
import gzip
import re
import socket
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from tests.helpers.procs import Proc
from tests.server.ui.conftest import TOKEN
from tripod.server import ui
from tripod.server.ui import CSP, STATIC_DIR

AUTH = {"Authorization": f"Bearer {TOKEN}"}
PLAIN = {"Accept-Encoding": "identity"}


def test_index_has_the_strict_csp_and_no_inline_code(
    http: httpx.Client, manifest: dict[str, Any]
) -> None:
    r = http.get("/", headers=PLAIN)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    csp = r.headers["content-security-policy"]
    assert csp == CSP
    for directive in ("script-src 'self'", "style-src 'self'", "object-src 'none'",
                      "frame-ancestors 'none'", "base-uri 'none'"):  # fmt: skip
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-content-type-options"] == "nosniff"
    html = r.text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    assert scripts == [""], "one external script, no inline code"
    assert f'src="/ui/assets/{manifest["entry"]}"' in html
    assert f'href="/ui/assets/{manifest["css"]}"' in html
    assert "<style" not in html
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
    assert not re.search(r"\sstyle=", html), "no inline style attributes"


def test_every_asset_is_served_with_its_type_gzip_and_a_long_cache(
    http: httpx.Client, manifest: dict[str, Any]
) -> None:
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
    assert any(f["file"].endswith(".css") for f in manifest["files"])
    for f in manifest["files"]:
        name = f["file"]
        url = f"/ui/assets/{name}"
        raw = http.get(url, headers=PLAIN)
        assert raw.status_code == 200, name
        assert raw.headers["content-type"] == types[Path(name).suffix], name
        assert "immutable" in raw.headers["cache-control"]
        assert "content-encoding" not in raw.headers
        assert raw.content == (STATIC_DIR / "assets" / name).read_bytes()
        assert len(raw.content) == f["bytes"]
        # ask for gzip and read the bytes as sent (httpx would decode them otherwise)
        with http.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as z:
            body = b"".join(z.iter_raw())
            assert z.headers["content-encoding"] == "gzip", name
            assert z.headers["vary"] == "Accept-Encoding"
        assert len(body) == f["gzip"]
        assert gzip.decompress(body) == raw.content


def test_page_paths_answer_index_html_and_api_paths_do_not(http: httpx.Client) -> None:
    index = http.get("/", headers=PLAIN).text
    for path in ("/explore?q=up&view=table", "/traces/4bf92f3577b34da6a3ce929d0e0e4736",
                 "/dashboards/tripod-red/x", "/logs", "/alerts?tab=silences"):  # fmt: skip
        r = http.get(path, headers=PLAIN)
        assert r.status_code == 200, path
        assert r.text == index, path
        assert r.headers["content-security-policy"] == CSP
    # an unknown page or API path is a 404, never the app (with the token: auth is not the cause)
    assert http.get("/no-such-page", headers=AUTH).status_code == 404
    api = http.get("/api/v1/no-such-api", headers=AUTH)
    assert api.status_code == 404
    assert "<html" not in api.text
    assert http.head("/explore").status_code == 200


def test_token_guards_the_api_but_not_the_ui(http: httpx.Client, manifest: dict[str, Any]) -> None:
    entry = f"/ui/assets/{manifest['entry']}"
    for path in ("/", "/explore", entry, "/ui/THIRD_PARTY_LICENSES.txt"):
        assert http.get(path).status_code == 200, path
    for path in ("/api/v1/labels", "/api/v1/label/__name__/values", "/api/v1/metadata",
                 "/api/v1/query?query=up", "/metrics", "/-/ready"):  # fmt: skip
        r = http.get(path)
        assert r.status_code == 401, path
        assert r.json()["errorType"] == "unauthorized"
        assert http.get(path, headers=AUTH).status_code == 200, path
    # the UI's paths do not open anything beneath them to writes
    assert http.post("/api/v1/import/prometheus", content="m 1\n").status_code == 401
    assert http.post("/explore", content="x").status_code == 405


def test_asset_names_cannot_leave_the_assets_folder(http: httpx.Client) -> None:
    for path in ("/ui/assets/..%2f..%2f__init__.py", "/ui/assets/..%2Findex.html",
                 "/ui/assets/%2e%2e", "/ui/assets/nope.js"):  # fmt: skip
        r = http.get(path, headers=PLAIN)
        assert r.status_code == 404, path
        assert b"import" not in r.content


def test_licence_file_names_every_bundled_package(
    http: httpx.Client, manifest: dict[str, Any]
) -> None:
    r = http.get("/ui/THIRD_PARTY_LICENSES.txt", headers=PLAIN)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    text = r.text
    assert {"preact", "@preact/signals"} <= set(manifest["packages"])
    for name in manifest["packages"]:
        header = re.search(rf"^{re.escape(name)}@\S+ \(([^)]+)\)$", text, re.M)
        assert header, name
        assert header.group(1) in {"MIT", "ISC", "BSD-2-Clause", "BSD-3-Clause", "0BSD",
                                   "Apache-2.0", "BlueOak-1.0.0"}  # fmt: skip
    assert "Permission is hereby granted" in text  # the MIT text itself, not only names
    assert (STATIC_DIR / "THIRD_PARTY_LICENSES.txt").read_text() == text


def test_without_a_build_the_page_says_how_to_build(tmp_path: Path) -> None:
    app = Starlette(routes=ui.routes(tmp_path / "static"))

    async def get(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ui") as client:
            return await client.get(path)

    for path in ("/", "/explore"):
        r = asyncio.run(get(path))
        assert r.status_code == 200
        assert "make ui" in r.text
        assert r.headers["x-tripod-ui"] == "not-built"
        assert r.headers["content-security-policy"] == CSP
    r = asyncio.run(get("/ui/THIRD_PARTY_LICENSES.txt"))
    assert r.status_code == 404
    assert "make ui" in r.text
    assert asyncio.run(get("/ui/assets/main-X.js")).status_code == 404


def test_open_ui_paths_do_not_reach_the_api_by_dot_segments(served: Proc) -> None:
    # httpx removes dot segments; a raw request keeps them as a client could send them
    host, port = served.url.removeprefix("http://").split(":")
    for path in ("/ui/../api/v1/labels", "/traces/../api/v1/labels", "/ui/%2e%2e/api/v1/labels",
                 "/explore/..%2f..%2fapi/v1/labels"):  # fmt: skip
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        assert b'"status":"success"' not in body, path
        assert b"application/json" not in head.lower() or b" 401 " in head.split(b"\r\n")[0], path
