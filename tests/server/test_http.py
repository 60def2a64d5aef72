"""The shared HTTP edge (server/_http.py): body decoding with limits, JSON depth, the Prometheus
API's time/duration parameters, the error replies, and a client hanging up mid-body."""

from __future__ import annotations

import gzip
import json
import socket
import zlib
from collections.abc import Iterator

import cramjam
import httpx
import pytest
from google.rpc import status_pb2  # type: ignore[import-untyped]

from tests.helpers.procs import Proc, start_tripod_serve
from tests.helpers.scrape import self_metric, wait_for
from tripod.server._http import (
    MAX_TIME_MS,
    HttpError,
    decode_content,
    json_depth,
    otlp_error,
    parse_duration_ms,
    parse_json,
    parse_time_ms,
    plain_error,
    prometheus_error,
)


def test_gzip_deflate_and_snappy_round_trip() -> None:
    raw = b"metric 1\n" * 1000
    assert decode_content(gzip.compress(raw), "gzip", 10_000) == raw
    assert decode_content(zlib.compress(raw), "deflate", 10_000) == raw
    assert decode_content(bytes(cramjam.snappy.compress_raw(raw)), "snappy", 10_000) == raw
    assert decode_content(raw, "identity", 0) == raw


@pytest.mark.parametrize(
    ("body", "encoding", "status", "words"),
    [
        (gzip.compress(b"\0" * 5000, mtime=0), "gzip", 413, "decompressed body exceeds 1000 bytes"),
        (gzip.compress(b"abc", mtime=0)[:-6], "gzip", 400, "truncated gzip"),
        (b"not gzip", "gzip", 400, "not valid gzip"),
        (bytes(cramjam.snappy.compress_raw(b"\0" * 5000)), "snappy", 413, "decompresses to 5000"),
        (b"\x10not snappy at all", "snappy", 400, "not snappy block-compressed"),
        (bytes(cramjam.snappy.compress(b"abc")), "snappy", 400, "block (not framed)"),
        (b"abc", "br", 415, "Content-Encoding 'br' is not supported"),
    ],
)
def test_bad_or_oversized_encodings(body: bytes, encoding: str, status: int, words: str) -> None:
    with pytest.raises(HttpError) as info:
        decode_content(body, encoding, 1000)
    assert info.value.status == status
    assert words in str(info.value)


def test_json_depth_ignores_brackets_in_strings_and_refuses_deep_bodies() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(b'"\\"[[["') == 0
    assert json_depth(b'["\\\\", [["x\\"]"]], "\\n]"]') == 3  # escapes: \\ \" \n
    assert parse_json(b'{"a": [[1]]}') == {"a": [[1]]}
    with pytest.raises(HttpError, match="nests 65 levels deep; at most 64"):
        parse_json(b"[" * 65 + b"]" * 65)
    with pytest.raises(HttpError, match="body is not JSON"):
        parse_json(b"{nope")


@pytest.mark.parametrize(
    ("text", "ms"),
    [("1700000000", 1_700_000_000_000), ("1700000000.123", 1_700_000_000_123),
     ("2023-11-14T22:13:20Z", 1_700_000_000_000), ("2023-11-14T23:13:20.5+01:00",
     1_700_000_000_500), ("292277025-08-18T07:12:54.999999999Z", MAX_TIME_MS)],
)  # fmt: skip
def test_times(text: str, ms: int) -> None:
    assert parse_time_ms("time", text) == ms


@pytest.mark.parametrize(
    ("text", "ms"), [("15", 15_000), ("0.25", 250), ("1m30s", 90_000), ("250ms", 250)]
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration_ms("step", text) == ms


def test_bad_parameters_use_prometheus_words() -> None:
    with pytest.raises(HttpError, match='invalid parameter "end": cannot parse "soon" to a valid'):
        parse_time_ms("end", "soon")
    with pytest.raises(HttpError, match=r'"step": cannot parse "1\.5s" to a valid duration'):
        parse_duration_ms("step", "1.5s")
    with pytest.raises(HttpError, match="overflows int64"):
        parse_duration_ms("step", "1e300")


def test_error_replies_per_api_family() -> None:
    prom = prometheus_error(422, "execution", "too many samples", {"X-Hint": "narrow it"})
    assert prom.status_code == 422
    assert json.loads(bytes(prom.body)) == {
        "status": "error", "errorType": "execution", "error": "too many samples"
    }  # fmt: skip
    assert prom.headers["x-hint"] == "narrow it"
    pb = otlp_error(413, "too big", "application/x-protobuf")
    status = status_pb2.Status.FromString(bytes(pb.body))
    assert (pb.status_code, status.code, status.message) == (413, 8, "too big")
    as_json = otlp_error(400, "bad", "application/json")
    assert json.loads(bytes(as_json.body)) == {"code": 3, "message": "bad"}
    text = plain_error(400, "refused")
    assert (text.status_code, bytes(text.body)) == (400, b"refused\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    with start_tripod_serve(tmp_path_factory.mktemp("http") / "data") as proc:
        yield proc


@pytest.mark.parametrize(
    ("path", "headers", "signal", "reason"),
    [
        ("/api/v1/write", "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy",
         "samples", "undecodable"),
        ("/v1/traces", "Content-Type: application/x-protobuf", "spans", "malformed"),
        ("/api/v1/import/prometheus", "Content-Type: text/plain", "samples", "malformed"),
    ],
)  # fmt: skip
def test_a_client_hanging_up_mid_body_is_a_counted_400_not_a_crash(
    server: Proc, path: str, headers: str, signal: str, reason: str
) -> None:
    before = self_metric(server, "tripod_server_rejected_total", signal=signal, reason=reason)
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\nContent-Length: 100000\r\n\r\n"
            .encode() + b"partial"
        )  # fmt: skip
    wait_for(
        lambda: (
            self_metric(server, "tripod_server_rejected_total", signal=signal, reason=reason)
            > before
        ),
        f"the {path} disconnect to be counted",
    )
    assert "Traceback" not in server.log()
    assert "Exception in ASGI application" not in server.log()


def test_a_large_compressed_body_is_inflated_off_the_event_loop_and_stored(server: Proc) -> None:
    lines = "".join(
        f'big_body{{v="{i:08x}{(i * 2654435761) % 2**32:08x}"}} {i * 0.37}\n' for i in range(40_000)
    )
    body = gzip.compress(lines.encode())
    assert len(body) >= 256 * 1024  # over the inline limit: decoded in a worker thread
    before = self_metric(server, "tripod_server_ingested_total", signal="samples", source="import")
    r = httpx.post(
        server.url + "/api/v1/import/prometheus",
        content=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
        timeout=60,
    )
    assert r.status_code == 204, r.text
    after = self_metric(server, "tripod_server_ingested_total", signal="samples", source="import")
    assert after - before == 40_000
