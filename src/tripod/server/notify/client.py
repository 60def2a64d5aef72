"""The Alertmanager API v2 client: Prometheus 2.42's ``notifier.Manager``, reimplemented.

Alerts handed to :meth:`AlertmanagerClient.send` get the external labels they lack, pass
``alert_relabel_configs``, and join a bounded queue (10,000; when full the oldest are dropped and
counted). One background thread takes batches of up to 64 and POSTs each batch as the API v2 JSON
array to every configured Alertmanager at once, each with its own timeout (10s by default). A batch
that reached no Alertmanager is counted as dropped. Nothing here raises into the caller.

Configuration is prometheus.yml's ``alerting:`` section (``alertmanagers`` with ``static_configs``,
``scheme``, ``path_prefix``, ``timeout``, ``api_version: v2``; ``alert_relabel_configs``) plus
plain URLs (``--alertmanager-url``). Any other field is refused by name.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import posixpath
import threading
import time
import urllib.parse
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Summary

from tripod import __version__
from tripod.server.notify._wire import format_millis, go_json, parse_duration
from tripod.server.notify.model import Alert

__all__ = [
    "MAX_BATCH",
    "QUEUE_CAPACITY",
    "AlertingConfig",
    "AlertmanagerClient",
    "ConfigError",
    "Relabeller",
    "alert_payload",
    "parse_alerting",
]

QUEUE_CAPACITY = 10_000
MAX_BATCH = 64
DEFAULT_TIMEOUT_S = 10.0
_log = logging.getLogger("tripod.server.notify")
_AM_FIELDS = {"static_configs", "scheme", "path_prefix", "timeout", "api_version"}


class ConfigError(ValueError):
    """A notification setting we cannot use; the message names the field and what to do."""


class Relabeller(Protocol):
    """``alert_relabel_configs`` applied to one label set; None drops the alert."""

    def __call__(self, labels: Mapping[str, str], /) -> Mapping[str, str] | None: ...


# Builds a Relabeller from the raw YAML list (the server's Prometheus relabel implementation);
# raises ValueError naming the bad field. Passed in so notify depends on no config module.
RelabelFactory = Callable[[Any, str], Relabeller]


@dataclasses.dataclass(frozen=True)
class AlertingConfig:
    """Where alerts go: the v2 POST URLs, each with its timeout, and the alert relabelling."""

    targets: tuple[tuple[str, float], ...] = ()
    relabel: Relabeller | None = None


def _post_url(scheme: str, address: str, prefix: str) -> str:
    return f"{scheme}://{address}{posixpath.join('/', prefix, 'api/v2/alerts')}"


def _url_target(raw: str) -> str:
    parsed = urllib.parse.urlsplit(raw.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        msg = f"--alertmanager-url {raw!r}: expected http(s)://host:port[/prefix]"
        raise ConfigError(msg)
    return _post_url(parsed.scheme, parsed.netloc, parsed.path or "/")


def _parse_alertmanager(raw: Any, where: str) -> list[tuple[str, float]]:
    if not isinstance(raw, dict):
        msg = f"{where}: expected a mapping with static_configs"
        raise ConfigError(msg)
    unknown = sorted(set(raw) - _AM_FIELDS)
    if unknown:
        msg = (
            f"{where}.{unknown[0]}: not supported by tripod's Alertmanager client "
            f"(supported: {', '.join(sorted(_AM_FIELDS))})"
        )
        raise ConfigError(msg)
    if str(raw.get("api_version", "v2")) != "v2":
        msg = f"{where}.api_version: only v2 is supported (Alertmanager 0.25 has no v1 API)"
        raise ConfigError(msg)
    scheme = str(raw.get("scheme", "http"))
    if scheme not in {"http", "https"}:
        msg = f"{where}.scheme: expected http or https, got {scheme!r}"
        raise ConfigError(msg)
    prefix = str(raw.get("path_prefix", "/"))
    try:
        timeout = parse_duration(raw.get("timeout", "10s"), f"{where}.timeout")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    targets: list[tuple[str, float]] = []
    statics = raw.get("static_configs") or []
    if not isinstance(statics, list):
        msg = f"{where}.static_configs: expected a list"
        raise ConfigError(msg)
    for i, static in enumerate(statics):
        here = f"{where}.static_configs[{i}]"
        if not isinstance(static, dict) or set(static) - {"targets"}:
            extra = sorted(set(static) - {"targets"}) if isinstance(static, dict) else ["?"]
            msg = f"{here}.{extra[0]}: not supported (only 'targets')"
            raise ConfigError(msg)
        addresses = static.get("targets") or []
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            msg = f"{here}.targets: expected a list of host:port strings"
            raise ConfigError(msg)
        for address in addresses:
            if "/" in address or not address:
                msg = f"{here}.targets: {address!r} is not host:port"
                raise ConfigError(msg)
            targets.append((_post_url(scheme, address, prefix), timeout))
    return targets


def parse_alerting(
    raw: Any, urls: Sequence[str] = (), relabel_factory: RelabelFactory | None = None
) -> AlertingConfig:
    """prometheus.yml's ``alerting:`` section plus ``--alertmanager-url`` values.

    ``alert_relabel_configs`` needs ``relabel_factory`` (the server passes its Prometheus
    relabelling); without one a file that uses them is refused rather than half-applied.
    """
    targets: list[tuple[str, float]] = [(_url_target(u), DEFAULT_TIMEOUT_S) for u in urls]
    relabeller: Relabeller | None = None
    if raw is not None:
        if not isinstance(raw, dict):
            msg = "alerting: expected a mapping with 'alertmanagers'"
            raise ConfigError(msg)
        unknown = sorted(set(raw) - {"alertmanagers", "alert_relabel_configs"})
        if unknown:
            msg = f"alerting.{unknown[0]}: not supported (alertmanagers, alert_relabel_configs)"
            raise ConfigError(msg)
        ams = raw.get("alertmanagers") or []
        if not isinstance(ams, list):
            msg = "alerting.alertmanagers: expected a list"
            raise ConfigError(msg)
        for i, am in enumerate(ams):
            targets.extend(_parse_alertmanager(am, f"alerting.alertmanagers[{i}]"))
        if raw.get("alert_relabel_configs"):
            if relabel_factory is None:
                msg = "alerting.alert_relabel_configs: relabelling is not available here"
                raise ConfigError(msg)
            try:
                relabeller = relabel_factory(
                    raw["alert_relabel_configs"], "alerting.alert_relabel_configs"
                )
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
    seen: dict[str, float] = {}
    for url, timeout in targets:  # one entry per URL, as Prometheus de-duplicates
        seen.setdefault(url, timeout)
    return AlertingConfig(targets=tuple(seen.items()), relabel=relabeller)


def alert_payload(alerts: Sequence[Alert]) -> bytes:
    """The API v2 ``PostableAlerts`` body, byte for byte as Prometheus marshals it."""
    items: list[dict[str, Any]] = []
    for a in alerts:
        item: dict[str, Any] = {}
        if a.annotations:
            item["annotations"] = dict(sorted(a.annotations.items()))
        item["endsAt"] = format_millis(a.ends_at)
        item["startsAt"] = format_millis(a.starts_at)
        if a.generator_url:
            item["generatorURL"] = a.generator_url
        item["labels"] = dict(sorted(a.labels.items()))
        items.append(item)
    return go_json(items, newline=False)


@dataclasses.dataclass
class _Instruments:
    sent: Counter
    errors: Counter
    dropped: Counter
    latency: Summary
    capacity: Gauge
    length: Gauge
    discovered: Gauge
    source: Callable[[], AlertmanagerClient | None] = lambda: None


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, _Instruments] = (
    weakref.WeakKeyDictionary()
)


def _instruments(registry: CollectorRegistry | None) -> _Instruments:
    found = _BY_REGISTRY.get(registry) if registry is not None else None
    if found is not None:
        return found
    reg = registry if registry is not None else CollectorRegistry()
    p = "prometheus_notifications_"
    am = ["alertmanager"]
    made = _Instruments(
        sent=Counter(p + "sent", "Total number of alerts sent.", am, registry=reg),
        errors=Counter(
            p + "errors", "Total number of errors sending alert notifications.", am, registry=reg
        ),
        dropped=Counter(
            p + "dropped",
            "Total number of alerts dropped due to errors when sending to Alertmanager.",
            registry=reg,
        ),
        latency=Summary(
            p + "latency_seconds", "Latency for sending alert notifications.", am, registry=reg
        ),
        capacity=Gauge(
            p + "queue_capacity", "The capacity of the alert notifications queue.", registry=reg
        ),
        length=Gauge(
            p + "queue_length", "The number of alert notifications in the queue.", registry=reg
        ),
        discovered=Gauge(
            p + "alertmanagers_discovered",
            "The number of alertmanagers discovered and active.",
            registry=reg,
        ),
    )

    def _length() -> float:
        client = made.source()
        return float(client.queue_length()) if client else 0.0

    def _discovered() -> float:
        client = made.source()
        return float(len(client.alertmanagers())) if client else 0.0

    made.length.set_function(_length)
    made.discovered.set_function(_discovered)
    if registry is not None:
        _BY_REGISTRY[registry] = made
    return made


class AlertmanagerClient:
    """An :class:`~tripod.server.notify.model.AlertSink` that delivers to Alertmanagers.

    ``start()`` runs the sender thread; ``apply_config()`` swaps targets and relabelling (on
    reload); ``stop()`` ends the thread without draining, as Prometheus does on shutdown.
    """

    def __init__(
        self,
        config: AlertingConfig,
        *,
        registry: CollectorRegistry | None = None,
        external_labels: Mapping[str, str] | None = None,
        queue_capacity: int = QUEUE_CAPACITY,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Alert] = deque()
        self._capacity = queue_capacity
        self._external = dict(external_labels or {})
        self._more = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="tripod-notify")
        self._http = httpx.Client(
            transport=transport, headers={"User-Agent": f"tripod/{__version__}"}
        )
        self._metrics = _instruments(registry)
        self._metrics.capacity.set(queue_capacity)
        ref = weakref.ref(self)
        self._metrics.source = ref
        self._config = AlertingConfig()
        self.apply_config(config, self._external)

    def apply_config(
        self, config: AlertingConfig, external_labels: Mapping[str, str] | None = None
    ) -> None:
        """Use new targets, relabelling and (when given) external labels from now on."""
        with self._lock:
            self._config = config
            if external_labels is not None:
                self._external = dict(external_labels)
        for url, _ in config.targets:  # the series exist at 0 before the first send
            self._metrics.sent.labels(url)
            self._metrics.errors.labels(url)

    def alertmanagers(self) -> list[str]:
        """The POST URLs alerts go to."""
        with self._lock:
            return [url for url, _ in self._config.targets]

    def queue_length(self) -> int:
        with self._lock:
            return len(self._queue)

    def send(self, alerts: Sequence[Alert]) -> None:
        """Queue alerts for delivery; never blocks on the network, never raises."""
        try:
            self._enqueue(alerts)
        except Exception:  # a bug here must not reach the rule evaluator
            _log.exception("queueing alerts for Alertmanager failed")

    def _enqueue(self, alerts: Sequence[Alert]) -> None:
        with self._lock:
            external, relabeller = self._external, self._config.relabel
            ready: list[Alert] = []
            for alert in alerts:
                labels = dict(alert.labels)
                for name, value in external.items():
                    if not labels.get(name):
                        labels[name] = value
                if relabeller is not None:
                    kept = relabeller(labels)
                    if kept is None:
                        continue
                    labels = dict(kept)
                ready.append(dataclasses.replace(alert, labels=labels))
            if not ready:
                return
            if (extra := len(ready) - self._capacity) > 0:
                ready = ready[extra:]
                self._metrics.dropped.inc(extra)
                _log.warning("alert batch larger than queue capacity, dropped %d", extra)
            if (extra := len(self._queue) + len(ready) - self._capacity) > 0:
                for _ in range(extra):
                    self._queue.popleft()
                self._metrics.dropped.inc(extra)
                _log.warning("alert notification queue full, dropped %d", extra)
            self._queue.extend(ready)
        self._more.set()

    def _next_batch(self) -> list[Alert]:
        with self._lock:
            count = min(MAX_BATCH, len(self._queue))
            return [self._queue.popleft() for _ in range(count)]

    def start(self) -> None:
        """Start the sender thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="tripod-alertmanager-client", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the sender thread; queued alerts that were not sent are left behind."""
        self._stopping.set()
        self._more.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._more.wait()
            self._more.clear()
            if self._stopping.is_set():
                return
            try:
                batch = self._next_batch()
                if batch and not self._send_all(batch):
                    self._metrics.dropped.inc(len(batch))
            except Exception:
                _log.exception("sending alerts to Alertmanager failed")
            if self.queue_length() > 0:
                self._more.set()

    def _send_all(self, alerts: list[Alert]) -> bool:
        with self._lock:
            targets = self._config.targets
        if not targets:
            return False
        payload = alert_payload(alerts)
        begin = time.monotonic()
        futures = [
            self._pool.submit(self._send_one, url, timeout, payload, len(alerts), begin)
            for url, timeout in targets
        ]
        return sum(f.result() for f in futures) > 0

    def _send_one(self, url: str, timeout: float, payload: bytes, count: int, begin: float) -> bool:
        ok = False
        try:
            response = self._http.post(
                url,
                content=payload,
                headers={"Content-Type": "application/json"},
                timeout=timeout,
            )
            ok = response.status_code // 100 == 2
            if not ok:
                _log.error("Alertmanager %s answered %s", url, response.status_code)
        except httpx.HTTPError as exc:
            _log.error("sending %d alerts to %s failed: %s", count, url, exc)
        if not ok:
            self._metrics.errors.labels(url).inc()
        self._metrics.latency.labels(url).observe(time.monotonic() - begin)
        self._metrics.sent.labels(url).inc(count)  # Prometheus counts attempts, sent or not
        return ok
