"""`POST /api/v1/import/prometheus` on a real `tripod serve`, read back through the store file."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.procs import Proc, start_tripod_serve
from tripod.server.ingest import ExpositionError, parse_exposition
from tripod.server.store import Database, DuckSampleStore, Matcher

OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    data = tmp_path_factory.mktemp("import") / "data"
    with start_tripod_serve(data, "--retention-time", "0") as proc:
        yield proc


def read_back(data_dir: Path, name: str) -> list[tuple[dict[str, str], list[int], list[float]]]:
    """What a stopped server's store holds (DuckDB allows one writing process at a time)."""
    db = Database(data_dir)
    try:
        found = DuckSampleStore(db).select([Matcher("__name__", "=", name)], 0, 2**62)
        return [(x.labels, x.timestamps.tolist(), x.values.tolist()) for x in found]
    finally:
        db.close()


def test_ready_and_healthy(server: Proc) -> None:
    assert httpx.get(server.url + "/-/healthy").status_code == 200
    assert httpx.get(server.url + "/-/ready").status_code == 200


def test_text_and_openmetrics_imports_are_stored_durably(tmp_path: Path) -> None:
    data = tmp_path / "data"
    text = (
        "# HELP req_total Requests.\n# TYPE req_total counter\n"
        'req_total{code="200",path="/a b"} 3 1700000000000\n'
        'req_total{code="200",path="/a b"} 5 1700000015000\n'
        'req_total{path="/\\"q\\"",code="500"} 1 1700000000000\n'
        "no_labels 7 0\n"
    )
    om = (
        "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n# UNIT lat_seconds seconds\n"
        'lat_seconds_bucket{le="0.1"} 1 1700000000.5 # {trace_id="abc"} 0.05 1700000000.4\n'
        'lat_seconds_bucket{le="+Inf"} 2 1700000000.5\n'
        "lat_seconds_count 2 1700000000.5\nlat_seconds_sum 0.3 1700000000.5\n# EOF\n"
    )
    with start_tripod_serve(data, "--retention-time", "0") as proc:
        r1 = httpx.post(proc.url + "/api/v1/import/prometheus", content=text)
        r2 = httpx.post(proc.url + "/api/v1/import/prometheus", content=om,
                        headers={"Content-Type": OM})  # fmt: skip
        r3 = httpx.post(proc.url + "/api/v1/import/prometheus",
                        content=gzip.compress(b"gz_metric 1 1000\n"),
                        headers={"Content-Encoding": "gzip"})  # fmt: skip
        assert (r1.status_code, r2.status_code, r3.status_code) == (204, 204, 204), r1.text
        bad = httpx.post(proc.url + "/api/v1/import/prometheus",
                         content='partial_good 1 1000\nbad{a="1" 2 1000\n')  # fmt: skip
        assert bad.status_code == 400
        proc.kill9()  # acknowledged means committed: no clean shutdown needed
    assert read_back(data, "req_total") == [
        ({"__name__": "req_total", "code": "200", "path": "/a b"},
         [1700000000000, 1700000015000], [3.0, 5.0]),
        ({"__name__": "req_total", "code": "500", "path": '/"q"'}, [1700000000000], [1.0]),
    ]  # fmt: skip
    assert read_back(data, "no_labels") == [({"__name__": "no_labels"}, [0], [7.0])]
    assert read_back(data, "lat_seconds_bucket")[0][1] == [1700000000500]
    assert read_back(data, "partial_good") == []  # a malformed body keeps nothing
    assert read_back(data, "gz_metric") == [({"__name__": "gz_metric"}, [1000], [1.0])]
    db = Database(data)
    try:
        meta = DuckSampleStore(db).metadata()
    finally:
        db.close()
    assert meta["req_total"] == [{"type": "counter", "help": "Requests.", "unit": ""}]
    assert meta["lat_seconds"] == [{"type": "histogram", "help": "Latency.", "unit": "seconds"}]


@pytest.mark.parametrize(
    ("body", "content_type", "line", "words"),
    [
        ('ok 1 1000\nbad{a="1" 2 1000\n', "text/plain", 2, "after label"),
        ("ok 1 1000\nok2 one 1000\n", "text/plain", 2, "not a number"),
        ("ok 1 1000\nok2 1 1.5\n", "text/plain", 2, "integer ms"),
        ("ok 1 1\n", OM, 2, "# EOF"),
        ("ok 1 1\n# EOF\nmore 1 1\n", OM, 3, "after # EOF"),
        ("# TYPE x bogus\nx 1\n", "text/plain", 1, "unknown metric type"),
        ("ok 1 1000\nbig 1 99999999999999999999\n", "text/plain", 2, "out of range"),
        ("ok 1 1000\nbig 1 -99999999999999999999\n", "text/plain", 2, "out of range"),
        ("ok 1 1\nbig 1 1e300\n# EOF\n", OM, 2, "out of range"),
        ("ok 1 1\nnan 1 NaN\n# EOF\n", OM, 2, "not finite"),
    ],
)
def test_malformed_bodies_get_400_with_the_line_and_store_nothing(
    server: Proc, body: str, content_type: str, line: int, words: str
) -> None:
    r = httpx.post(server.url + "/api/v1/import/prometheus", content=body,
                   headers={"Content-Type": content_type})  # fmt: skip
    assert r.status_code == 400
    payload = r.json()
    assert payload["status"] == "error"
    assert payload["errorType"] == "bad_data"
    assert f"line {line}:" in payload["error"]
    assert words in payload["error"]
    assert "nothing was stored" in payload["error"]


def test_out_of_order_samples_are_named_and_the_rest_kept(server: Proc) -> None:
    url = server.url + "/api/v1/import/prometheus"
    assert httpx.post(url, content="ooo_metric 1 5000\n").status_code == 204
    r = httpx.post(url, content="ooo_metric 2 4000\nooo_metric 3 6000\n")
    assert r.status_code == 400
    assert "1 out_of_order" in r.json()["error"]
    assert "stored 1 samples" in r.json()["error"]
    metrics = httpx.get(server.url + "/metrics").text
    assert 'tripod_server_rejected_total{reason="out_of_order",signal="samples"} 1.0' in metrics


def test_oversized_body_is_413(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("limits:\n  max_body_bytes: 1000\n")
    with start_tripod_serve(tmp_path / "data", "--config", str(config)) as proc:
        r = httpx.post(proc.url + "/api/v1/import/prometheus", content=b"x 1\n" * 1000)
        assert r.status_code == 413
        assert "max_body_bytes" in r.json()["error"]
        bomb = gzip.compress(b"x 1\n" * 10_000)  # small on the wire, 40 kB inflated
        assert len(bomb) < 1000
        r = httpx.post(proc.url + "/api/v1/import/prometheus", content=bomb,
                       headers={"Content-Encoding": "gzip"})  # fmt: skip
        assert r.status_code == 413
        assert "decompressed body exceeds 8000 bytes" in r.json()["error"]
        r = httpx.post(proc.url + "/api/v1/import/prometheus", content=b"x 1\n",
                       headers={"Content-Encoding": "br"})  # fmt: skip
        assert r.status_code == 415
        assert httpx.get(proc.url + "/-/ready").status_code == 200


def test_parser_handles_escapes_spacing_and_special_values() -> None:
    parsed = parse_exposition(
        'a{x="1\\n2",y="\\\\"}  +Inf\nb\tNaN 5\nc{} -1.5e3\nd{z="} 1"} 2 3\n', False, 99
    )
    assert parsed.labels['a{x="1\\n2",y="\\\\"}'] == {"__name__": "a", "x": "1\n2", "y": "\\"}
    assert parsed.stamps == [99, 5, 99, 3]
    assert parsed.values[0] == float("inf")
    assert parsed.values[2] == -1500.0
    assert parsed.labels['d{z="} 1"}'] == {"__name__": "d", "z": "} 1"}
    with pytest.raises(ExpositionError, match="line 1: label 'a' appears twice"):
        parse_exposition('m{a="1",a="2"} 1\n', False, 0)


def test_million_series_cardinality_bomb_is_limited_and_server_keeps_answering(
    tmp_path: Path,
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("limits:\n  max_series_per_metric: 5000\n")
    with start_tripod_serve(tmp_path / "data", "--config", str(config)) as proc:
        url = proc.url + "/api/v1/import/prometheus"
        for part in range(4):  # 10^6 distinct series in four 250k-line bodies
            lines = (f'bomb{{id="{i}"}} 1\n' for i in range(part * 250_000, (part + 1) * 250_000))
            r = httpx.post(url, content="".join(lines), timeout=120)
            assert r.status_code == 400
            assert "too_many_series" in r.json()["error"]
        assert httpx.post(url, content="fine 1\n").status_code == 204
        assert httpx.get(proc.url + "/api/v1/logs").status_code == 200
        metrics = httpx.get(proc.url + "/metrics").text
        assert (
            'tripod_server_rejected_total{reason="too_many_series",signal="samples"} 995000.0'
            in metrics
        )
        assert 'tripod_server_ingested_total{signal="samples",source="import"} 5001.0' in metrics


@pytest.mark.parametrize("openmetrics", [False, True])
def test_fast_path_agrees_with_the_line_parser(openmetrics: bool) -> None:
    from tripod.server.ingest.import_text import _parse_fast, _parse_lines

    scale = "1700000000.5" if openmetrics else "1700000000500"
    body = (
        "# HELP a_total Things.\n# TYPE a_total counter\n"
        f'a_total{{x="1",y="q\\\\"}} 1.5 {scale}\n'
        f'a_total{{x="2"}} +Inf {scale}\n'
        "b -3e2\n"
        f'c{{z="}} 1"}} NaN {scale}\n'
        f'd {{ k = "v" , }} 4 {scale}\n'
    ) + ("# EOF\n" if openmetrics else "")
    fast = _parse_fast(body, openmetrics, 42, {})
    assert fast is not None  # this body takes the fast path
    slow = _parse_lines(body, openmetrics, 42, {})
    assert [fast.labels[k] for k in fast.series_text] == [slow.labels[k] for k in slow.series_text]
    assert fast.stamps == slow.stamps
    assert [repr(v) for v in fast.values] == [repr(v) for v in slow.values]
    assert fast.metadata == slow.metadata
    odd = ['x{a="1"b="2"} 1\n', "x 1_0\n", "x 0x10\n", "  \nx 1\n", 'x 1 # {a="b"} 1\n']
    for line in odd if openmetrics else [*odd, "x 1 1.5\n"]:
        text = line + ("# EOF\n" if openmetrics else "")
        assert _parse_fast(text, openmetrics, 0, {}) is None, text  # left to the line parser
