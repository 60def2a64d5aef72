"""/metrics over real HTTP: the standalone server, the ASGI app under uvicorn, the WSGI app under
waitress, and a real Prometheus scraping tripod (negotiating OpenMetrics, storing exemplars)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from tests.helpers.procs import free_port, start_prometheus
from tripod.sdk import metrics

OM_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"


@pytest.fixture(autouse=True)
def one_request() -> None:
    """Every test here serves a registry holding one recorded request (with an exemplar)."""
    hm = metrics.http_server_metrics()
    hm.start("GET")
    hm.finish("GET", "/orders/{id}", 200, 0.02, trace_id=TRACE_ID, span_id=SPAN_ID)


def _check_metrics_endpoint(url: str) -> None:
    text = httpx.get(url, timeout=10)
    assert text.status_code == 200
    assert text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    names = {f.name for f in parse_text(text.text)}
    assert "http_server_request_duration_seconds" in names
    assert "trace_id" not in text.text

    om = httpx.get(url, headers={"Accept": OM_ACCEPT}, timeout=10)
    assert om.status_code == 200
    assert om.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    exemplars = [s.exemplar for f in parse_openmetrics(om.text) for s in f.samples if s.exemplar]
    assert [e.labels["trace_id"] for e in exemplars] == [TRACE_ID]

    head = httpx.head(url, timeout=10)
    assert head.status_code == 200
    assert head.content == b""
    post = httpx.post(url, content=b"x", timeout=10)
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"
    assert "GET and HEAD" in post.text


def test_start_http_server_serves_and_closes() -> None:
    server = metrics.start_http_server(0)
    try:
        assert server.port > 0
        _check_metrics_endpoint(f"http://127.0.0.1:{server.port}/metrics")
        root = httpx.get(f"http://127.0.0.1:{server.port}/", timeout=10)
        assert root.status_code == 200
        other = httpx.get(f"http://127.0.0.1:{server.port}/nope", timeout=10)
        assert other.status_code == 404
        assert "/metrics" in other.text
    finally:
        server.close()
    server.close()  # twice is fine
    # Refused (or, if a connection raced the close, reset): either way nothing serves it.
    with pytest.raises((httpx.ConnectError, httpx.ReadError)):
        httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5)
    with socket.socket() as sock:  # nothing listens on the port any more
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", server.port))


def test_start_http_server_on_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python build")
    try:
        server = metrics.start_http_server(0, host="::1")
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    with server:
        assert server.url == f"http://[::1]:{server.port}/metrics"
        assert "http_server_request_duration_seconds" in httpx.get(server.url, timeout=10).text


def test_a_failing_render_is_a_one_line_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(openmetrics: bool) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(metrics.REGISTRY, "render", broken)
    with metrics.start_http_server(0) as server:
        r = httpx.get(server.url, timeout=10)
    assert r.status_code == 500
    assert r.text == "500 tripod could not render metrics: RuntimeError\n"


def test_start_http_server_bad_port_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="0-65535"):
        metrics.start_http_server(70000)
    with metrics.start_http_server(0) as first, pytest.raises(OSError, match="pick another port"):
        metrics.start_http_server(first.port)


def test_asgi_app_under_uvicorn() -> None:
    port = free_port()
    config = uvicorn.Config(
        metrics.asgi_app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive(), "uvicorn exited"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        _check_metrics_endpoint(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_wsgi_app_under_waitress() -> None:
    from waitress.server import create_server

    server = create_server(metrics.wsgi_app, host="127.0.0.1", port=0, threads=2)
    port = server.effective_port
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _check_metrics_endpoint(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.close()
        thread.join(timeout=10)


@pytest.mark.e2e
@pytest.mark.prometheus
def test_real_prometheus_scrapes_openmetrics_with_exemplars(tmp_path: Path) -> None:
    metrics.record_dropped("spans", 2)
    with metrics.start_http_server(0) as target:
        config = f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: tripod
    static_configs:
      - targets: ["127.0.0.1:{target.port}"]
"""
        prom = start_prometheus(tmp_path / "prom", config, "--enable-feature=exemplar-storage")
        try:
            api = f"{prom.url}/api/v1"
            deadline = time.monotonic() + 30
            result: list[dict[str, object]] = []
            while time.monotonic() < deadline and not result:
                time.sleep(0.5)
                r = httpx.get(
                    f"{api}/query_exemplars",
                    params={"query": "http_server_request_duration_seconds_bucket"},
                    timeout=10,
                )
                result = r.json()["data"]
            assert result, "Prometheus stored no exemplar from tripod's /metrics:\n" + prom.log()
            exemplar = result[0]["exemplars"][0]  # type: ignore[index]
            assert exemplar["labels"] == {"trace_id": TRACE_ID, "span_id": SPAN_ID}
            assert float(exemplar["value"]) == 0.02
            assert result[0]["seriesLabels"]["le"] == "0.025"  # type: ignore[index]

            def query(q: str) -> list[dict[str, object]]:
                data = httpx.get(f"{api}/query", params={"query": q}, timeout=10).json()
                return data["data"]["result"]  # type: ignore[no-any-return]

            count = query("http_server_request_duration_seconds_count")
            assert count[0]["value"][1] == "1"  # type: ignore[index]
            assert count[0]["metric"]["http_route"] == "/orders/{id}"  # type: ignore[index]
            dropped = query('tripod_telemetry_dropped_total{signal="spans"}')
            assert dropped[0]["value"][1] == "2"  # type: ignore[index]
            assert query("process_resident_memory_bytes")
            up = query("up")
            assert up[0]["value"][1] == "1"  # type: ignore[index]
        finally:
            prom.stop()
