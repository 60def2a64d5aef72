"""`POST /api/v1/write` on a real `tripod serve`: hand-built WriteRequests (stale markers read
back bit-exact from the stopped server's store), and bad input answered 4xx with a reason."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from pathlib import Path

import cramjam
import httpx
import pytest

from tests.helpers.procs import Proc, start_tripod_serve
from tripod.server.ingest._prompb import WriteRequest
from tripod.server.store import STALE_NAN, STALE_NAN_BITS, Database, DuckSampleStore, Matcher

pytestmark = pytest.mark.e2e

HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def _body(*series: tuple[dict[str, str], list[tuple[int, float]]]) -> bytes:
    req = WriteRequest()
    for labels, points in series:
        ts = req.timeseries.add()
        for name, value in sorted(labels.items()):
            ts.labels.add(name=name, value=value)
        for t, v in points:
            ts.samples.add(timestamp=t, value=v)
    return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))


def _post(proc: Proc, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(proc.url + "/api/v1/write", content=body, headers=headers or HEADERS)


def _bits(value: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", value))[0])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    data = tmp_path_factory.mktemp("rw") / "data"
    with start_tripod_serve(data, "--retention-time", "0") as proc:
        yield proc


def test_stale_marker_and_metadata_survive_bit_exact(tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    other_nan = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]
    labels = {"__name__": "rw_gauge", "job": "hand", "instance": "x:1"}
    points = [(now - 3000, 1.5), (now - 2000, other_nan), (now - 1000, STALE_NAN)]
    req = WriteRequest.FromString(bytes(cramjam.snappy.decompress_raw(_body((labels, points)))))
    req.metadata.add(type=2, metric_family_name="rw_gauge", help="A gauge.", unit="")
    body = bytes(cramjam.snappy.compress_raw(req.SerializeToString()))
    data = tmp_path / "data"
    with start_tripod_serve(data, "--retention-time", "0") as proc:
        response = _post(proc, body)
        assert response.status_code == 204, response.text
        assert response.content == b""
    db = Database(data)
    try:
        store = DuckSampleStore(db)
        (series,) = store.select([Matcher("__name__", "=", "rw_gauge")], 0, 2**62)
        assert series.labels == labels
        assert series.timestamps.tolist() == [now - 3000, now - 2000, now - 1000]
        bits = [_bits(v) for v in series.values.tolist()]
        assert bits[0] == _bits(1.5)
        assert bits[1] != STALE_NAN_BITS  # an ordinary NaN stays an ordinary NaN
        assert bits[2] == STALE_NAN_BITS
        assert store.metadata()["rw_gauge"] == [{"type": "gauge", "help": "A gauge.", "unit": ""}]
    finally:
        db.close()


def test_out_of_order_and_duplicates_are_400_with_counts(server: Proc) -> None:
    now = int(time.time() * 1000)
    labels = {"__name__": "rw_order", "job": "hand"}
    assert _post(server, _body((labels, [(now - 1000, 1.0), (now, 2.0)]))).status_code == 204
    assert _post(server, _body((labels, [(now, 2.0)]))).status_code == 204  # identical: fine
    response = _post(server, _body((labels, [(now - 5000, 0.5), (now, 9.0)])))
    assert response.status_code == 400
    assert "out_of_order=1" in response.text
    assert "duplicate_timestamp=1" in response.text


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (b"this is not snappy", None, 400, "snappy"),
        (bytes(cramjam.snappy.compress_raw(b"\xff\xff\xff garbage")), None, 400, "WriteRequest"),
        (_body(({"__name__": "m", "a": "b"}, [(1, 1.0)]))[:-3], None, 400, ""),
        (bytes(cramjam.snappy.compress_raw(b"")), {**HEADERS, "Content-Type": "application/json"},
         415, "Content-Type"),
        (_body(({"__name__": "m"}, [(1, 1.0)])), {**HEADERS, "Content-Encoding": "gzip"},
         415, "Content-Encoding"),
        (_body(({"__name__": "m"}, [(1, 1.0)])),
         {**HEADERS, "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
         415, "prometheus.WriteRequest"),
        (_body(({"__name__": "m", "v": "x" * 10_000}, [(1, 1.0)])), None,
         400, "label_value_too_long"),
        (_body(({"job": "no name"}, [(1, 1.0)])), None, 400, "invalid_labels"),
        (b"\x00" * (17 * 1024 * 1024), None, 413, "limit"),
    ],
)  # fmt: skip
def test_bad_input_is_4xx_with_a_reason_and_the_server_stays_up(
    server: Proc, body: bytes, headers: dict[str, str] | None, status: int, reason: str
) -> None:
    response = _post(server, body, headers)
    assert response.status_code == status, response.text
    assert reason in response.text
    assert response.text.strip()  # a reason, never an empty 4xx
    assert "Traceback" not in response.text
    assert httpx.get(server.url + "/-/ready").status_code == 200


def test_truncated_protobuf_keeps_nothing(tmp_path: Path) -> None:
    labels = {"__name__": "rw_truncated", "job": "hand"}
    now = int(time.time() * 1000)
    raw = cramjam.snappy.decompress_raw(_body((labels, [(now, 1.0)]), (labels, [(now + 1, 2.0)])))
    data = tmp_path / "data"
    with start_tripod_serve(data, "--retention-time", "0") as proc:
        response = _post(proc, bytes(cramjam.snappy.compress_raw(bytes(raw)[:-4])))
        assert response.status_code == 400
    db = Database(data)
    try:
        assert (
            DuckSampleStore(db).select([Matcher("__name__", "=", "rw_truncated")], 0, 2**62) == []
        )
    finally:
        db.close()


def test_explicit_v1_proto_parameter_and_missing_headers_are_accepted(server: Proc) -> None:
    now = int(time.time() * 1000)
    v1 = {**HEADERS, "Content-Type": "application/x-protobuf;proto=prometheus.WriteRequest"}
    body = _body(({"__name__": "rw_headers", "n": "1"}, [(now, 1.0)]))
    assert _post(server, body, v1).status_code == 204
    body = _body(({"__name__": "rw_headers", "n": "2"}, [(now, 1.0)]))
    assert httpx.post(server.url + "/api/v1/write", content=body).status_code == 204
