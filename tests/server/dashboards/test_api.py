"""``tripod serve --dashboards``: a real server over a folder holding ``tripod generate``'s
dashboard, a Grafana API export, bad files and a link out of the folder; the list, one
dashboard, errors, paging, re-reading changed files, and the built-in dashboard (listed next to
the files unless one takes its uid)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.procs import Proc, start_tripod_serve

REPO = Path(__file__).resolve().parents[3]
EXPORT = {
    "meta": {"type": "db", "slug": "user-board", "folderTitle": "General"},
    "dashboard": {
        "uid": "user-board",
        "title": "User board",
        "tags": ["mine", 3],
        "schemaVersion": 39,
        "panels": [{"type": "stat", "title": "<script>x</script>", "gridPos": {"w": 6, "h": 4}}],
    },
}


def _write(path: Path, body: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return path


@pytest.fixture(scope="module")
def boards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("boards")
    out = root / "deploy"
    done = subprocess.run(
        [sys.executable, "-m", "tripod", "generate", str(REPO / "examples/generate/shop"),
         "--out", str(out), "--target", "grafana"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = root / "boards"
    _write(folder / "export.json", EXPORT)
    _write(folder / "nested" / "deeper" / "plain.json", {"title": "No uid", "panels": []})
    _write(folder / "legacy.json", {"uid": "old", "title": "Old rows", "rows": [{"panels": []}]})
    _write(folder / "broken.json", '{"title": "cut off", "panels": [')
    _write(folder / "array.json", [1, 2])
    _write(folder / "panels.json", {"uid": "p", "title": "P", "panels": {"a": 1}})
    _write(folder / "zdup.json", {**EXPORT["dashboard"], "title": "Copy"})  # same uid
    _write(folder / "baduid.json", {"uid": "a/b", "title": "slash", "panels": []})
    _write(folder / "deep.json", "[" * 600 + "]" * 600)
    _write(root / "secret.json", {"uid": "secret", "title": "outside", "panels": []})
    os.symlink(root / "secret.json", folder / "link.json")
    return _write(root / "conf" / "tripod.yaml", "dashboards: [../deploy/grafana/dashboards]\n")


@pytest.fixture(scope="module")
def server(boards: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    folder = boards.parent.parent / "boards"
    data = tmp_path_factory.mktemp("dash-data") / "data"
    with start_tripod_serve(data, "--config", str(boards), "--dashboards", str(folder),
                            "--dashboards", str(folder / "missing")) as proc:  # fmt: skip
        yield proc


def _list(proc: Proc, **params: Any) -> dict[str, Any]:
    r = httpx.get(proc.url + "/api/v1/ui/dashboards", params=params)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def _by_file(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {Path(d["file"]).name: d for d in data["dashboards"]}


def test_the_list_holds_generated_exported_and_bad_files(server: Proc) -> None:
    data = _list(server)
    files = _by_file(data)
    assert data["total"] == len(data["dashboards"]) == 13
    assert files["(built-in)"]["uid"] == "tripod-red"
    assert files["shop.json"]["uid"] == "tripod-shop"
    assert files["shop.json"]["title"] == "shop service"
    assert "tripod" in files["shop.json"]["tags"]
    assert files["export.json"] == {
        "uid": "user-board", "title": "User board", "tags": ["mine", "3"],
        "file": str(Path(files["export.json"]["file"])),
    }  # fmt: skip
    assert files["plain.json"]["uid"].startswith("file-")
    assert files["plain.json"]["title"] == "No uid"
    assert files["legacy.json"] == {**files["legacy.json"], "uid": "old", "title": "Old rows"}
    assert "error" not in files["legacy.json"]  # schema < 16: rows of panels, laid out by the UI
    assert "not JSON" in files["broken.json"]["error"]
    assert "expected a JSON object" in files["array.json"]["error"]
    assert "panels: expected a list" in files["panels.json"]["error"]
    assert "already used by" in files["zdup.json"]["error"]
    assert "uid 'a/b' is not valid" in files["baduid.json"]["error"]
    assert "nests 600 levels deep" in files["deep.json"]["error"]
    assert "symbolic link out of the folder" in files["link.json"]["error"]
    assert files["missing"]["error"] == "no such file or folder"
    good = [d["title"] for d in data["dashboards"] if "error" not in d]
    assert good == sorted(good, key=str.casefold)


def test_one_dashboard_is_the_model_unwrapped(server: Proc, boards: Path) -> None:
    generated = json.loads(
        (boards.parent.parent / "deploy/grafana/dashboards/shop.json").read_text()
    )
    r = httpx.get(server.url + "/api/v1/ui/dashboards/tripod-shop")
    assert r.status_code == 200
    assert r.json()["data"]["dashboard"] == generated
    export = httpx.get(server.url + "/api/v1/ui/dashboards/user-board").json()["data"]
    assert export["dashboard"] == EXPORT["dashboard"]
    assert export["file"].endswith("export.json")


def test_bad_and_unknown_uids_are_4xx_with_a_reason(server: Proc) -> None:
    uid = _by_file(_list(server))["broken.json"]["uid"]
    r = httpx.get(server.url + f"/api/v1/ui/dashboards/{uid}")
    assert r.status_code == 422
    assert r.json()["errorType"] == "bad_data"
    assert "broken.json: the file is not JSON" in r.json()["error"]
    r = httpx.get(server.url + "/api/v1/ui/dashboards/nope")
    assert (r.status_code, r.json()["error"]) == (404, "no dashboard with uid 'nope'")
    # a uid only selects among the listed files: no path reaches the disk
    for path in ("secret", "..%2Fsecret.json", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd"):
        r = httpx.get(server.url + "/api/v1/ui/dashboards/" + path)
        assert r.status_code == 404, path
        assert "outside" not in r.text
    with httpx.Client() as client:  # not normalised by the client
        req = client.build_request("GET", server.url + "/api/v1/ui/dashboards/x")
        req.url = req.url.copy_with(raw_path=b"/api/v1/ui/dashboards/../../../etc/passwd")
        r = client.send(req)
        assert r.status_code == 404
        assert "root:" not in r.text
    assert httpx.get(server.url + "/-/healthy").status_code == 200


def test_the_list_is_paged_and_filtered(server: Proc) -> None:
    everything = _list(server)["dashboards"]
    page = _list(server, limit=3, offset=2)
    assert page["dashboards"] == everything[2:5]
    assert (page["total"], page["limit"], page["offset"]) == (13, 3, 2)
    assert [d["uid"] for d in _list(server, search="SHOP")["dashboards"]] == ["tripod-shop"]
    assert [d["uid"] for d in _list(server, tag="mine")["dashboards"]] == ["user-board"]
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}):
        r = httpx.get(server.url + "/api/v1/ui/dashboards", params=bad)
        assert r.status_code == 400
        assert "expected an integer" in r.json()["error"]


def test_changed_added_and_removed_files_are_read_again(server: Proc, boards: Path) -> None:
    folder = boards.parent.parent / "boards"
    path = folder / "nested" / "deeper" / "plain.json"
    _write(path, {"uid": "plain", "title": "Renamed", "panels": [], "tags": ["new"]})
    os.utime(path, ns=(1, 1))  # another size as well as another time: no clock granularity issue
    extra = _write(folder / "added.json", {"uid": "added", "title": "Added", "panels": []})
    mine = _write(folder / "red.json", {"uid": "tripod-red", "title": "My RED", "panels": []})
    try:
        files = _by_file(_list(server))
        assert (files["plain.json"]["uid"], files["plain.json"]["title"]) == ("plain", "Renamed")
        assert files["added.json"]["uid"] == "added"
        r = httpx.get(server.url + "/api/v1/ui/dashboards/plain")
        assert r.json()["data"]["dashboard"]["tags"] == ["new"]
        # a file with the built-in's uid replaces it
        assert "(built-in)" not in files
        r = httpx.get(server.url + "/api/v1/ui/dashboards/tripod-red")
        assert r.json()["data"]["title"] == "My RED"
    finally:
        extra.unlink()
        mine.unlink()
        _write(path, {"title": "No uid", "panels": []})
    files = _by_file(_list(server))
    assert "added.json" not in files
    assert files["(built-in)"]["uid"] == "tripod-red"
    assert httpx.get(server.url + "/api/v1/ui/dashboards/added").status_code == 404


def test_the_builtin_red_dashboard_is_made_from_the_catalog(server: Proc) -> None:
    board = httpx.get(server.url + "/api/v1/ui/dashboards/tripod-red").json()["data"]
    assert (board["title"], board["file"]) == ("Services (RED)", "(built-in)")
    exprs = [t["expr"] for p in board["dashboard"]["panels"] for t in p.get("targets", [])]
    assert any("http_server_request_duration_seconds_count" in e for e in exprs)
    job = next(v for v in board["dashboard"]["templating"]["list"] if v["name"] == "job")
    assert "current" not in job  # the first job seen is selected, not a made-up one


def test_without_codegen_the_list_says_how_to_get_the_builtin() -> None:
    code = (
        "import sys; sys.modules['grafana_foundation_sdk'] = None\n"
        "from tripod.server.dashboards import builtin_dashboard\n"
        "print(builtin_dashboard())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert done.stdout.startswith('(None, "the built-in RED dashboard needs')
    assert "pip install 'tripod[codegen]'" in done.stdout
