"""``/api/v2/silences`` routes on a real HTTP server and ``tripod silence`` against them and
against a real Alertmanager 0.25 (same API, same JSON shapes)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette

from tests.server.notify.sinks import (
    HttpSink,
    Served,
    alertmanager,
    amtool_binary,
    checked,
)
from tripod.cli import cli
from tripod.server.notify import api
from tripod.server.notify.notifier import BuiltinNotifier
from tripod.server.notify.silences import SilenceStore


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, SilenceStore, HttpSink]]:
    with HttpSink() as hook:
        config = checked(
            {
                "route": {"receiver": "hook", "group_wait": "0s", "group_by": ["alertname"]},
                "receivers": [{"name": "hook", "webhook_configs": [{"url": hook.url + "/h"}]}],
            },
            tmp_path,
        )
        store = SilenceStore(tmp_path / "silences.json")
        notifier = BuiltinNotifier(config, silences=store)
        notifier.start()
        server = Served(Starlette(routes=api.routes(store, notifier)))
        try:
            yield server, store, hook
        finally:
            server.close()
            notifier.stop()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_cli_add_ls_expire_against_tripod(served: tuple[Served, SilenceStore, HttpSink]) -> None:
    server, store, _ = served
    code, out = run("silence", "--url", server.url, "add", "alertname=HighErrorRate",
                    'service=~"api|web"', "-c", "deploy", "-a", "me", "-d", "2h")  # fmt: skip
    assert code == 0, out
    sid = out.strip()
    [made] = store.list()
    assert made.id == sid
    assert [str(m) for m in made.matchers] == ['alertname="HighErrorRate"', 'service=~"api|web"']
    assert made.ends_at - made.starts_at == pytest.approx(7200, abs=2)
    code, out = run("silence", "ls", "--url", server.url)  # flags after the subcommand too
    assert code == 0
    assert sid in out
    assert 'alertname="HighErrorRate" service=~"api|web"' in out
    code, out = run("silence", "--url", server.url, "ls", "service=~api|web", "-o", "json")
    assert [s["id"] for s in json.loads(out)] == [sid]
    code, out = run("silence", "--url", server.url, "ls", "service=db")
    assert sid not in out
    assert run("silence", "--url", server.url, "expire", sid)[0] == 0
    assert store.get(sid).state(time.time()) == "expired"
    assert sid in run("silence", "--url", server.url, "ls", "--expired")[1]
    code, out = run("silence", "--url", server.url, "expire", "nope")
    assert code == 2
    assert out.strip() == "tripod silence: DELETE /api/v2/silence/nope: HTTP 404: silence not found"
    code, out = run("silence", "--url", server.url, "add", "foo", "-c", "x")
    assert code == 2
    assert "bad matcher format: foo" in out


def test_bad_input_is_4xx_with_reason(served: tuple[Served, SilenceStore, HttpSink]) -> None:
    server, _, _ = served
    now = time.time()

    def iso(t: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

    good: dict[str, Any] = {
        "matchers": [{"name": "a", "value": "b", "isRegex": False}],
        "startsAt": iso(now), "endsAt": iso(now + 60), "createdBy": "me", "comment": "c",
    }  # fmt: skip
    cases = [
        (b"{", 400, "not JSON"),
        (json.dumps({**good, "matchers": []}).encode(), 400, "at least one matcher"),
        (json.dumps({**good, "endsAt": iso(now - 60)}).encode(), 400, "start time must be before"),
        (
            json.dumps(
                {**good, "matchers": [{"name": "a", "value": "", "isRegex": False}]}
            ).encode(),
            400,
            "must not match the empty string",
        ),
        (
            json.dumps(
                {**good, "matchers": [{"name": "a", "value": "(", "isRegex": True}]}
            ).encode(),
            400,
            "regular expression",
        ),
        (json.dumps({**good, "id": "missing"}).encode(), 404, "not found"),
        (json.dumps({**good, "startsAt": "yesterday"}).encode(), 400, "RFC 3339"),
    ]
    for body, status, reason in cases:
        response = httpx.post(server.url + "/api/v2/silences", content=body)
        assert response.status_code == status, (body, response.text)
        assert reason in response.json()
    assert httpx.get(server.url + "/api/v2/silences?filter=%3D%3D").status_code == 400
    assert httpx.get(server.url + "/api/v2/silence/x").status_code == 404
    bad_alerts = httpx.post(server.url + "/api/v2/alerts", content=b'[{"labels": {}}]')
    assert bad_alerts.status_code == 400
    assert "labels" in bad_alerts.json()


def test_alert_intake_delivers(served: tuple[Served, SilenceStore, HttpSink]) -> None:
    server, _, hook = served
    body = [{"labels": {"alertname": "Pushed", "job": "x"}, "annotations": {"summary": "s"}}]
    assert httpx.post(server.url + "/api/v2/alerts", json=body).status_code == 200
    note = hook.wait_for(1)[0]
    assert note["alerts"][0]["labels"] == {"alertname": "Pushed", "job": "x"}
    assert note["alerts"][0]["annotations"] == {"summary": "s"}


def test_same_shapes_and_cli_against_real_alertmanager(
    tmp_path: Path, served: tuple[Served, SilenceStore, HttpSink]
) -> None:
    server, _, _ = served
    config = "route:\n  receiver: x\nreceivers:\n  - name: x\n"
    with alertmanager(tmp_path / "am", config) as am:
        ids = {}
        for url in (am.url, server.url):
            code, out = run("silence", "--url", url, "add", "alertname=Foo", "job!=bar",
                            "-c", "shape", "-a", "t", "-d", "30m")  # fmt: skip
            assert code == 0, out
            ids[url] = out.strip()
        theirs = httpx.get(am.url + "/api/v2/silences").json()
        ours = httpx.get(server.url + "/api/v2/silences").json()
        assert len(theirs) == len(ours) == 1
        assert set(theirs[0]) == set(ours[0])
        assert theirs[0]["matchers"] == ours[0]["matchers"]
        assert theirs[0]["status"] == ours[0]["status"] == {"state": "active"}
        for key in ("startsAt", "endsAt", "updatedAt"):
            assert len(theirs[0][key]) == len(ours[0][key]), key  # same millisecond layout
        assert run("silence", "--url", am.url, "expire", ids[am.url])[0] == 0
        assert httpx.get(am.url + f"/api/v2/silence/{ids[am.url]}").json()["status"] == {
            "state": "expired"
        }
        assert ids[am.url] in run("silence", "--url", am.url, "ls", "--expired")[1]


def test_amtool_silences_and_alerts_against_tripod(
    served: tuple[Served, SilenceStore, HttpSink],
) -> None:
    server, store, _ = served

    def amtool(*args: str) -> str:
        done = subprocess.run([amtool_binary(), f"--alertmanager.url={server.url}", *args],
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    sid = amtool("silence", "add", 'job=~"api|web"', "-c", "from amtool", "-a", "ops", "-d", "1h")
    assert [s.id for s in store.list()] == [sid.strip()]
    assert amtool("silence", "query", "-q").split() == [sid.strip()]
    amtool("silence", "expire", sid.strip())
    assert store.get(sid.strip()).state(time.time()) == "expired"
    assert sid.strip() in amtool("silence", "query", "--expired")
    amtool("alert", "add", "alertname=FromAmtool", "job=x", "--annotation=summary=hi")
    listed = amtool("alert", "query", "alertname=FromAmtool", "-o", "extended")
    assert 'alertname="FromAmtool" job="x"' in listed
    assert 'summary="hi"' in listed


def test_alert_listing_filters(served: tuple[Served, SilenceStore, HttpSink]) -> None:
    server, store, _ = served
    body = [{"labels": {"alertname": "L", "job": j}} for j in ("a", "b")]
    assert httpx.post(server.url + "/api/v2/alerts", json=body).status_code == 200
    code, out = run("silence", "add", "job=b", "-c", "quiet", "--url", server.url)
    assert code == 0, out

    def jobs(query: str) -> list[str]:
        got = httpx.get(server.url + "/api/v2/alerts" + query)
        assert got.status_code == 200, got.text
        return [a["labels"]["job"] for a in got.json()]

    assert sorted(jobs("")) == ["a", "b"]
    assert jobs("?silenced=false") == ["a"]
    assert jobs("?active=false") == ["b"]
    assert jobs('?filter=job="a"') == ["a"]
    assert jobs("?receiver=nobody") == []
    assert sorted(jobs("?receiver=ho.*")) == ["a", "b"]
    [b] = httpx.get(server.url + '/api/v2/alerts?filter=job="b"').json()
    assert b["status"] == {"inhibitedBy": [], "silencedBy": [store.list()[0].id],
                           "state": "suppressed"}  # fmt: skip
    assert b["receivers"] == [{"name": "hook"}]
    for bad in ("?active=maybe", "?receiver=(", "?filter=job"):
        reply = httpx.get(server.url + "/api/v2/alerts" + bad)
        assert reply.status_code == 400, bad
        assert isinstance(reply.json(), str)
