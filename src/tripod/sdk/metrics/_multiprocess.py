"""Metric values shared by the worker processes of one server (gunicorn, ``uvicorn --workers``).

Under a pre-fork server tripod picks a directory private to that server run (``_prefork``);
``TRIPOD_MULTIPROC_DIR`` names one instead (``off``: no sharing). Every worker keeps its
values in ``w-<pid>.db`` there, a small memory-mapped key/value file (prometheus_client's
``MmapedDict``). Any worker answering /metrics
reads all live files and adds them up, so one scrape shows the whole server.

Dead workers are folded, not kept: the scraper (under an ``flock`` on ``.lock``) finds files
whose pid is gone, adds their counters and histograms into one ``archive.db``, drops their
gauges and deletes the file. The directory therefore holds live workers + 2 files whatever the
churn, and a scrape reads that many files, so its time stays flat. A new worker whose pid
reuses a dead one's folds the old file first, so counters never go backwards.

Gauges are summed over live workers (``livesum``, the default) or shown per live worker with a
``pid`` label (``liveall``). Exemplars are not shared between workers.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # prometheus_client is imported when a worker file is opened or scraped
    from prometheus_client.metrics_core import Metric

from tripod.catalog import le_label
from tripod.sdk.metrics._prefork import ENV, GAUGE_MODES, detect_master, pid_alive, server_dir
from tripod.sdk.metrics._values import Buckets, Exemplar, Scalar

__all__ = ["GAUGE_MODES", "MultiProcessValueFactory", "factory_from_env", "pid_alive"]

_ARCHIVE = "archive.db"
_PROCESS_EVERY_S = 5.0
_go_float = le_label


def _key(*parts: object) -> str:
    return json.dumps(parts, separators=(",", ":"))


def _read(path: Path) -> list[tuple[str, float]]:
    from prometheus_client.mmap_dict import MmapedDict

    try:
        return [(k, v) for k, v, *_ in MmapedDict.read_all_values_from_file(str(path))]  # type: ignore[no-untyped-call]
    except (FileNotFoundError, RuntimeError):  # gone, or torn by a crash mid-write
        return []


class _File:
    """This process's values file; reopened (fresh) after a fork."""

    def __init__(self, path: Path) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        from prometheus_client.mmap_dict import MmapedDict

        self.data: Any = MmapedDict(str(path))  # type: ignore[no-untyped-call]

    def add(self, key: str, amount: float) -> None:
        with self.lock:
            self.data.write_value(key, self.data.read_value(key)[0] + amount, 0.0)

    def set(self, key: str, value: float) -> None:
        with self.lock:
            self.data.write_value(key, value, 0.0)

    def get(self, key: str) -> float:
        with self.lock:
            return float(self.data.read_value(key)[0])


class MultiProcessValueFactory:
    """A ``ValueFactory`` over per-worker files in ``directory``."""

    def __init__(self, directory: str | os.PathLike[str], process_metrics: bool = True) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._meta: dict[str, str] = {}  # family -> meta key
        self._file: _File | None = None
        self._open_lock = threading.Lock()
        self._process_metrics = process_metrics
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        """A forked worker starts its own file; a lock held by a parent thread is not ours."""
        self._open_lock = threading.Lock()
        self._file = None

    # --- writing (each worker) ------------------------------------------------------------
    def file(self) -> _File:
        current = self._file
        if current is not None and current.pid == os.getpid():
            return current
        with self._open_lock:
            current = self._file
            if current is not None and current.pid == os.getpid():
                return current
            path = self.directory / f"w-{os.getpid()}.db"
            if path.exists():  # a dead worker had this pid: keep its counts, not its file
                with self.locked():
                    self._fold(path)
            current = _File(path)
            for meta in self._meta.values():
                current.set(meta, 0.0)
            self._file = current
        if self._process_metrics:
            threading.Thread(target=self._process_loop, args=(current,), daemon=True).start()
        return current

    def describe(self, family: Any) -> None:
        """Record a family's metadata so any worker can render it (called on register)."""
        kind = family.kind
        mode = getattr(family, "multiprocess_mode", "livesum")
        bounds = list(getattr(family, "bounds", ()))
        labels = list(family.labelnames)
        meta = _key("m", family.name, kind, family.help, family.unit, labels, bounds, mode)
        self._meta[family.name] = meta
        if self._file is not None and self._file.pid == os.getpid():
            self._file.set(meta, 0.0)

    def scalar(self, family: str, label_values: tuple[str, ...]) -> Scalar:
        return _SharedScalar(self, _key("v", family, list(label_values)))

    def buckets(self, family: str, label_values: tuple[str, ...], size: int) -> Buckets:
        return _SharedBuckets(self, family, list(label_values), size)

    def _process_loop(self, mine: _File) -> None:
        labels = [str(mine.pid)]
        cpu = _key("p", "process_cpu_seconds", labels)
        rss = _key("p", "process_resident_memory_bytes", labels)
        page = os.sysconf("SC_PAGE_SIZE")
        while self._file is mine and os.getpid() == mine.pid:
            times = os.times()
            mine.set(cpu, times.user + times.system)
            try:
                with open("/proc/self/statm", "rb") as statm:
                    mine.set(rss, float(int(statm.read().split()[1]) * page))
            except OSError:
                pass
            time.sleep(_PROCESS_EVERY_S)

    # --- reading (the scraper) ------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        with open(self.directory / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _fold(self, path: Path) -> None:
        """Add a dead worker's counters and histograms to the archive; delete its file."""
        values = _read(path)
        kinds = {}
        for key, _ in values:
            if key.startswith('["m"'):
                parts = json.loads(key)
                kinds[parts[1]] = parts[2]
        from prometheus_client.mmap_dict import MmapedDict

        archive: Any = MmapedDict(str(self.directory / _ARCHIVE))  # type: ignore[no-untyped-call]
        try:
            for key, value in values:
                parts = json.loads(key)
                if parts[0] == "m":
                    archive.write_value(key, 0.0, 0.0)
                elif parts[0] in ("v", "b", "s") and kinds.get(parts[1]) in (
                    "counter",
                    "histogram",
                ):
                    archive.write_value(key, archive.read_value(key)[0] + value, 0.0)
        finally:
            archive.close()
        path.unlink(missing_ok=True)

    def collect(self) -> list[Metric]:
        """All workers' values as prometheus_client families (dead workers folded first)."""
        me = os.getpid()
        with self.locked():
            for path in self.directory.glob("w-*.db"):
                pid = int(path.stem[2:]) if path.stem[2:].isdigit() else me
                if pid != me and not pid_alive(pid):
                    self._fold(path)
            sources: list[tuple[str | None, list[tuple[str, float]]]] = [
                (None, _read(self.directory / _ARCHIVE))
            ]
            for path in self.directory.glob("w-*.db"):
                sources.append((path.stem[2:], _read(path)))
        return _Merge(sources).families()


class _SharedScalar:
    __slots__ = ("_factory", "_key")

    def __init__(self, factory: MultiProcessValueFactory, key: str) -> None:
        self._factory = factory
        self._key = key

    def add(self, amount: float) -> None:
        self._factory.file().add(self._key, amount)

    def set(self, value: float) -> None:
        self._factory.file().set(self._key, value)

    def get(self) -> float:
        return self._factory.file().get(self._key)


class _SharedBuckets:
    __slots__ = ("_factory", "_keys", "_sum")

    def __init__(
        self, factory: MultiProcessValueFactory, family: str, labels: list[str], size: int
    ):
        self._factory = factory
        self._keys = [_key("b", family, labels, i) for i in range(size)]
        self._sum = _key("s", family, labels)

    def observe(self, index: int, value: float) -> None:
        file = self._factory.file()
        with file.lock:
            data = file.data
            data.write_value(self._keys[index], data.read_value(self._keys[index])[0] + 1, 0.0)
            data.write_value(self._sum, data.read_value(self._sum)[0] + value, 0.0)

    def observe_exemplar(self, index: int, value: float, exemplar: Exemplar) -> None:
        self.observe(index, value)

    def snapshot(self) -> tuple[list[int], float, list[Exemplar | None] | None]:
        file = self._factory.file()
        counts = [int(file.get(k)) for k in self._keys]
        return counts, file.get(self._sum), None


class _Merge:
    """Adds up the files' values per series and builds the families to render."""

    def __init__(self, sources: list[tuple[str | None, list[tuple[str, float]]]]) -> None:
        self.meta: dict[str, list[Any]] = {}
        self.values: dict[str, dict[tuple[str, ...], float]] = {}
        self.hist: dict[str, dict[tuple[str, ...], dict[int, float]]] = {}
        self.process: dict[str, dict[tuple[str, ...], float]] = {}
        for pid, values in sources:
            for key, value in values:
                self._add(pid, json.loads(key), value)

    def _add(self, pid: str | None, parts: list[Any], value: float) -> None:
        tag, name = parts[0], parts[1]
        if tag == "m":  # the newest definition wins (live files are read after the archive)
            self.meta[name] = parts
        elif tag == "p":
            self.process.setdefault(name, {})[tuple(parts[2])] = value
        elif tag == "v":
            labels = tuple(parts[2])
            meta = self.meta.get(name)
            if pid is not None and meta is not None and meta[2] == "gauge" and meta[7] == "liveall":
                labels = (*labels, pid)
            series = self.values.setdefault(name, {})
            series[labels] = series.get(labels, 0.0) + value
        else:  # "b" bucket i or "s" sum (-1)
            index = parts[3] if tag == "b" else -1
            slots = self.hist.setdefault(name, {}).setdefault(tuple(parts[2]), {})
            slots[index] = slots.get(index, 0.0) + value

    def families(self) -> list[Metric]:
        from prometheus_client.metrics_core import Metric
        from prometheus_client.samples import Sample

        out: list[Metric] = []
        for name, (_, _, kind, help, unit, labels, bounds, mode) in sorted(self.meta.items()):
            metric = Metric(name, help, kind, unit)
            if kind == "histogram":
                les = [_go_float(b) for b in bounds] + ["+Inf"]
                for values, slots in self.hist.get(name, {}).items():
                    base = dict(zip(labels, values, strict=False))
                    total = 0.0
                    for i, le in enumerate(les):
                        total += slots.get(i, 0.0)
                        metric.samples.append(Sample(f"{name}_bucket", {**base, "le": le}, total))
                    metric.samples.append(Sample(f"{name}_count", base, total))
                    metric.samples.append(Sample(f"{name}_sum", base, slots.get(-1, 0.0)))
            else:
                names = [*labels, "pid"] if kind == "gauge" and mode == "liveall" else labels
                sample = f"{name}_total" if kind == "counter" else name
                for values, value in sorted(self.values.get(name, {}).items()):
                    metric.samples.append(
                        Sample(sample, dict(zip(names, values, strict=False)), value)
                    )
            out.append(metric)
        for name, kind in (
            ("process_cpu_seconds", "counter"),
            ("process_resident_memory_bytes", "gauge"),
        ):
            if name in self.process and name not in self.meta:
                help = (
                    "CPU time of each live worker."
                    if kind == "counter"
                    else "RSS of each live worker."
                )
                metric = Metric(name, help, kind)
                sample = f"{name}_total" if kind == "counter" else name
                for (pid,), value in sorted(self.process[name].items()):
                    metric.samples.append(Sample(sample, {"pid": pid}, value))
                out.append(metric)
        return out


def factory_from_env() -> MultiProcessValueFactory | None:
    """The shared factory for this process, or None (in-process values).

    ``TRIPOD_MULTIPROC_DIR`` names the directory (``off`` turns sharing off); unset, a
    pre-fork server (gunicorn, ``uvicorn --workers``) found around the process gets a private
    directory of its own (see ``_prefork``).
    """
    directory = os.environ.get(ENV, "").strip()
    if directory.lower() == "off":
        return None
    if directory:
        return MultiProcessValueFactory(directory)
    master = detect_master()
    if master is None:
        return None
    try:
        found = server_dir(master)
    except OSError as exc:  # no private temp directory: each worker keeps its own values
        logging.getLogger("tripod").warning("tripod: multi-process metrics off: %s", exc)
        return None
    factory = MultiProcessValueFactory(found)
    if master != os.getpid():  # a worker: its process metrics show from its start
        factory.file()
    return factory
