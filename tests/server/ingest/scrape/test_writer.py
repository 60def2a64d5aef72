"""A target's scrape bookkeeping on in-test stores (target labels, report series,
staleness), and the scrape manager run in-process."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from prometheus_client import CollectorRegistry

from tripod.server.config import Limits, ServerConfig, parse_scrape_configs
from tripod.server.deps import ServerContext
from tripod.server.ingest.scrape import TargetWriter, merge_target_labels, targets_for
from tripod.server.store import (
    AppendResult,
    Database,
    DuckLogStore,
    DuckSpanStore,
    LabelError,
    Sample,
    is_stale,
)

T0 = 1_700_000_000_000


class ListStore:
    """The smallest sample store a writer needs: series refs in a list, appends in a list.
    Label values longer than ``max_value`` are refused as the real store refuses them."""

    def __init__(self, max_value: int = 4096) -> None:
        self.samples: list[Sample] = []
        self.series: list[dict[str, str]] = []
        self.meta: dict[str, tuple[str, str, str]] = {}
        self.max_value = max_value

    def append(self, samples: Iterable[Sample]) -> AppendResult:
        batch = list(samples)
        self.samples.extend(batch)
        return AppendResult(accepted=len(batch))

    def ref(self, labels: Mapping[str, str]) -> int:
        if any(len(v) > self.max_value for k, v in labels.items() if k != "__name__"):
            raise LabelError("label_value_too_long", "label value too long")
        clean = {k: v for k, v in labels.items() if v}
        if clean not in self.series:
            self.series.append(clean)
        return self.series.index(clean)

    def append_refs(
        self,
        sids: npt.NDArray[np.int64],
        stamps: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
        result: AppendResult | None = None,
    ) -> AppendResult:
        return self.append(
            Sample(self.series[int(s)], int(t), float(v))
            for s, t, v in zip(sids, stamps, values, strict=True)
        )

    def set_metadata(self, metric: str, type_: str, help_: str, unit: str = "") -> None:
        self.meta[metric] = (type_, help_, unit)

    def at(self, ts: int) -> dict[tuple[tuple[str, str], ...], float]:
        return {
            tuple(sorted(s.labels.items())): s.value for s in self.samples if s.timestamp_ms == ts
        }


def _context(
    db: Database, tmp_path: Path, store: ListStore, config: ServerConfig | None = None
) -> ServerContext:
    """A context whose sample store is ``store`` (the writer touches nothing else)."""
    return ServerContext(
        config=config or ServerConfig(data_dir=tmp_path),
        db=db,
        samples=store,  # type: ignore[arg-type]  # a writer-side double: no reads
        spans=DuckSpanStore(db, Limits()),
        logs=DuckLogStore(db, Limits()),
        registry=CollectorRegistry(),
    )


def _writer(db: Database, tmp_path: Path, **job: object) -> tuple[TargetWriter, ListStore]:
    store = ListStore()
    ctx = _context(db, tmp_path, store)
    (cfg,) = parse_scrape_configs(
        [{"job_name": "app", "static_configs": [{"targets": ["h:1"]}], **job}]
    )
    (target,) = targets_for(cfg, cfg.static_configs).values()
    return TargetWriter(ctx, cfg, target), store


def _key(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def test_merge_honor_labels_false_keeps_exposed_as_exported() -> None:
    exposed = {"__name__": "m", "job": "theirs", "exported_job": "x", "a": "1"}
    merged = merge_target_labels(exposed, {"job": "ours", "instance": "h:1"}, honor_labels=False)
    assert merged == {
        "__name__": "m",
        "job": "ours",
        "instance": "h:1",
        "exported_job": "x",
        "exported_exported_job": "theirs",
        "a": "1",
    }
    honored = merge_target_labels(exposed, {"job": "ours", "instance": "h:1"}, honor_labels=True)
    assert honored["job"] == "theirs"
    assert honored["instance"] == "h:1"


def test_samples_get_target_labels_and_report_series(db: Database, tmp_path: Path) -> None:
    writer, store = _writer(db, tmp_path)
    body = (
        "# TYPE reqs_total counter\n# HELP reqs_total Requests.\n"
        'reqs_total{code="200"} 7\ntemp 1.5\n'
    )
    result = writer.success(body, openmetrics=False, scrape_ms=T0, duration_s=0.25)
    assert result.up
    got = store.at(T0)
    assert got[_key(__name__="reqs_total", code="200", job="app", instance="h:1")] == 7
    assert got[_key(__name__="temp", job="app", instance="h:1")] == 1.5
    assert got[_key(__name__="up", job="app", instance="h:1")] == 1
    assert got[_key(__name__="scrape_duration_seconds", job="app", instance="h:1")] == 0.25
    assert got[_key(__name__="scrape_samples_scraped", job="app", instance="h:1")] == 2
    assert (
        got[_key(__name__="scrape_samples_post_metric_relabeling", job="app", instance="h:1")] == 2
    )
    assert got[_key(__name__="scrape_series_added", job="app", instance="h:1")] == 2
    assert store.meta["reqs_total"] == ("counter", "Requests.", "")


def test_disappearing_series_get_a_stale_marker(db: Database, tmp_path: Path) -> None:
    writer, store = _writer(db, tmp_path)
    writer.success("a 1\nb 2\n", openmetrics=False, scrape_ms=T0, duration_s=0.1)
    writer.success("a 3\nc 4\n", openmetrics=False, scrape_ms=T0 + 1000, duration_s=0.1)
    second = store.at(T0 + 1000)
    assert is_stale(second[_key(__name__="b", job="app", instance="h:1")])
    assert second[_key(__name__="a", job="app", instance="h:1")] == 3
    assert second[_key(__name__="scrape_series_added", job="app", instance="h:1")] == 1


def test_failed_scrape_writes_up_zero_and_stale_markers(db: Database, tmp_path: Path) -> None:
    writer, store = _writer(db, tmp_path)
    writer.success("a 1\n", openmetrics=False, scrape_ms=T0, duration_s=0.1)
    writer.failure("connection refused", scrape_ms=T0 + 1000, duration_s=0.01)
    got = store.at(T0 + 1000)
    assert is_stale(got[_key(__name__="a", job="app", instance="h:1")])
    assert got[_key(__name__="up", job="app", instance="h:1")] == 0
    writer.failure("connection refused", scrape_ms=T0 + 2000, duration_s=0.01)
    assert _key(__name__="a", job="app", instance="h:1") not in store.at(T0 + 2000)  # once


def test_unparseable_body_is_a_failed_scrape(db: Database, tmp_path: Path) -> None:
    writer, store = _writer(db, tmp_path)
    result = writer.success("a{ 1\n", openmetrics=False, scrape_ms=T0, duration_s=0.1)
    assert not result.up
    assert "line 1" in result.error
    assert store.at(T0)[_key(__name__="up", job="app", instance="h:1")] == 0


def test_end_marks_everything_stale_including_up(db: Database, tmp_path: Path) -> None:
    writer, store = _writer(db, tmp_path)
    writer.success("a 1\n", openmetrics=False, scrape_ms=T0, duration_s=0.1)
    writer.end(T0 + 500)
    got = store.at(T0 + 500)
    assert len(got) == 6
    assert all(is_stale(v) for v in got.values())
    writer.success("a 1\n", openmetrics=False, scrape_ms=T0 + 1000, duration_s=0.1)
    assert store.at(T0 + 1000) == {}  # an ended target writes nothing more


def test_metric_relabel_drops_and_rewrites(db: Database, tmp_path: Path) -> None:
    writer, store = _writer(
        db, tmp_path,
        metric_relabel_configs=[
            {"action": "drop", "source_labels": ["__name__"], "regex": "go_.*"},
            {"source_labels": ["path"], "regex": "/user/\\d+", "target_label": "path",
             "replacement": "/user/:id"},
        ],
    )  # fmt: skip
    writer.success(
        'go_threads 5\nhits{path="/user/42"} 1\n', openmetrics=False, scrape_ms=T0, duration_s=0.1
    )
    got = store.at(T0)
    assert got[_key(__name__="hits", path="/user/:id", job="app", instance="h:1")] == 1
    assert not any(dict(k)["__name__"] == "go_threads" for k in got)
    assert got[_key(__name__="scrape_samples_scraped", job="app", instance="h:1")] == 2
    assert (
        got[_key(__name__="scrape_samples_post_metric_relabeling", job="app", instance="h:1")] == 1
    )


@pytest.mark.parametrize("honor", [True, False])
def test_honor_timestamps(db: Database, tmp_path: Path, honor: bool) -> None:
    writer, store = _writer(db, tmp_path, honor_timestamps=honor)
    writer.success("a 1 1600000000000\n", openmetrics=False, scrape_ms=T0, duration_s=0.1)
    stamps = {s.timestamp_ms for s in store.samples if s.labels["__name__"] == "a"}
    assert stamps == ({1600000000000} if honor else {T0})


def test_sample_limit_fails_the_scrape(db: Database, tmp_path: Path) -> None:
    writer, store = _writer(db, tmp_path, sample_limit=1)
    result = writer.success("a 1\nb 2\n", openmetrics=False, scrape_ms=T0, duration_s=0.1)
    assert not result.up
    assert "sample_limit" in result.error
    assert _key(__name__="a", job="app", instance="h:1") not in store.at(T0)


def test_openmetrics_body(db: Database, tmp_path: Path) -> None:
    writer, store = _writer(db, tmp_path)
    body = (
        '# TYPE c counter\n# HELP c C.\nc_total 3 # {trace_id="ab"} 1.0\nc_created 1.7e9\n# EOF\n'
    )
    assert writer.success(body, openmetrics=True, scrape_ms=T0, duration_s=0.1).up
    assert store.at(T0)[_key(__name__="c_total", job="app", instance="h:1")] == 3


def test_series_with_explicit_timestamps_are_not_marked_stale(db: Database, tmp_path: Path) -> None:
    writer, store = _writer(db, tmp_path)
    writer.success("a 1 1600000000000\nb 2\n", openmetrics=False, scrape_ms=T0, duration_s=0.1)
    writer.success("", openmetrics=False, scrape_ms=T0 + 1000, duration_s=0.1)
    second = store.at(T0 + 1000)
    assert is_stale(second[_key(__name__="b", job="app", instance="h:1")])
    assert _key(__name__="a", job="app", instance="h:1") not in second


def test_refused_series_are_counted_and_the_rest_kept(db: Database, tmp_path: Path) -> None:
    store = ListStore(max_value=20)
    ctx = _context(db, tmp_path, store)
    (cfg,) = parse_scrape_configs([{"job_name": "app", "static_configs": [{"targets": ["h:1"]}]}])
    (target,) = targets_for(cfg, cfg.static_configs).values()
    writer = TargetWriter(ctx, cfg, target)
    body = f'ok 1\nbad{{v="{"x" * 30}"}} 2\n'
    first = writer.success(body, openmetrics=False, scrape_ms=T0, duration_s=0.1)
    assert first.up
    assert first.post_relabel == 1
    writer.success("", openmetrics=False, scrape_ms=T0 + 1000, duration_s=0.1)
    assert store.at(T0)[_key(__name__="ok", job="app", instance="h:1")] == 1
    assert is_stale(store.at(T0 + 1000)[_key(__name__="ok", job="app", instance="h:1")])
    rejected = ctx.registry.get_sample_value(
        "tripod_server_rejected_total", {"signal": "samples", "reason": "label_value_too_long"}
    )
    assert rejected == 1


def test_target_labels_the_store_refuses_do_not_break_scrape(db: Database, tmp_path: Path) -> None:
    store = ListStore(max_value=20)
    ctx = _context(db, tmp_path, store)
    group = {"targets": ["h:1"], "labels": {"team": "t" * 30}}
    (cfg,) = parse_scrape_configs([{"job_name": "app", "static_configs": [group]}])
    (target,) = targets_for(cfg, cfg.static_configs).values()
    writer = TargetWriter(ctx, cfg, target)
    result = writer.success("ok 1\n", openmetrics=False, scrape_ms=T0, duration_s=0.1)
    assert result.up
    assert store.samples == []
    writer.failure("gone", scrape_ms=T0 + 1000, duration_s=0.1)
    writer.end(T0 + 2000)
    assert store.samples == []


def test_manager_start_scrape_and_stop_cancels_everything(db: Database, tmp_path: Path) -> None:
    """In-process: the manager scrapes a live target next to a hanging one, and stop()
    returns with no task left behind, the hanging request included."""
    import asyncio
    import http.server
    import threading
    import time

    from tripod.server.ingest.scrape import ScrapeManager, running_manager

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/hang"):
                time.sleep(3)
                return
            body = b"live_metric 1\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    store = ListStore()
    jobs = [
        {"job_name": "live", "scrape_interval": "100ms",
         "static_configs": [{"targets": [address]}]},
        {"job_name": "hang", "scrape_interval": "200ms", "metrics_path": "/hang",
         "static_configs": [{"targets": [address]}]},
    ]  # fmt: skip
    ctx = _context(
        db,
        tmp_path,
        store,
        ServerConfig(data_dir=tmp_path, scrape_configs=parse_scrape_configs(jobs)),
    )

    async def scenario() -> None:
        manager = ScrapeManager(ctx)
        await manager.start()
        assert running_manager(ctx) is manager
        deadline = time.monotonic() + 20
        while not any(s.labels.get("__name__") == "live_metric" for s in store.samples):
            assert time.monotonic() < deadline, "no scrape of the live target"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # the hanging target is being scraped (and timing out) again
        await manager.stop()
        assert running_manager(ctx) is None
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert others == []

    try:
        asyncio.run(scenario())
    finally:
        server.shutdown()
        server.server_close()
