"""`tripod serve` flags: one-line exit-2 errors, and the bearer token on every endpoint."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers.procs import free_port, start_tripod_serve


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tripod", "serve", "--data-dir", str(tmp_path / "d"), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--retention-time", "15 days"], "--retention-time: '15 days' is not valid; expected"),
        (["--retention-size", "lots"], "--retention-size: 'lots' is not valid; expected a size"),
        (["--port", "http"], "'http' is not a valid integer"),
        (["--config", "/nonexistent/tripod.yaml"], "cannot read --config"),
        (["--host", "0.0.0.0"], "set --token or TRIPOD_SERVE_TOKEN"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str], words: str) -> None:
    done = serve(tmp_path, "--port", str(free_port()), *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert words in lines[0]
    assert "Traceback" not in done.stderr


def test_bad_config_contents_exit_2(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("limits: [unclosed\n")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("limits:\n  max_body_byte: 10\n")
    negative = tmp_path / "negative.yaml"
    negative.write_text("limits:\n  max_rows: -1\n")
    for path, words in ((bad_yaml, "not valid YAML"), (unknown, "did you mean 'max_body_bytes'"),
                        (negative, "limits.max_rows")):  # fmt: skip
        done = serve(tmp_path, "--config", str(path), "--port", str(free_port()))
        assert done.returncode == 2
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert words in done.stderr


def test_port_in_use_exits_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        done = serve(tmp_path, "--port", str(taken.getsockname()[1]))
    assert done.returncode == 2
    assert "cannot listen on 127.0.0.1" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_token_guards_every_endpoint_but_healthy(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "tripod", "serve", "--data-dir", str(tmp_path / "d"),
            "--host", "127.0.0.1", "--port", str(port), "--token", "s3cret"]  # fmt: skip
    from tests.helpers.procs import Proc

    with Proc(argv, f"http://127.0.0.1:{port}", tmp_path / "serve.log") as proc:
        proc.wait_ready("/-/healthy")
        url = proc.url
        assert httpx.get(url + "/-/healthy").status_code == 200
        for path in ("/-/ready", "/metrics", "/api/v1/logs", "/api/v1/traces"):
            r = httpx.get(url + path)
            assert r.status_code == 401, path
            assert r.json()["errorType"] == "unauthorized"
            assert (
                httpx.get(url + path, headers={"Authorization": "Bearer nope"}).status_code == 401
            )
            ok = httpx.get(url + path, headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 200, path
        r = httpx.post(url + "/api/v1/import/prometheus", content="m 1\n")
        assert r.status_code == 401


def test_loopback_default_needs_no_token(tmp_path: Path) -> None:
    with start_tripod_serve(tmp_path / "d") as proc:
        assert httpx.get(proc.url + "/api/v1/logs").status_code == 200


def test_second_server_on_the_same_data_dir_exits_2(tmp_path: Path) -> None:
    with start_tripod_serve(tmp_path / "d"):
        done = serve(tmp_path, "--port", str(free_port()))
    assert done.returncode == 2
    assert "is another tripod serve using this --data-dir?" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
