"""Process and runtime metrics, from prometheus_client's own collectors plus a thread count.

prometheus_client registers ``PROCESS_COLLECTOR``, ``PLATFORM_COLLECTOR`` and ``GC_COLLECTOR``
on its default registry; tripod exposes that registry too, so these usually arrive through it.
:class:`RuntimeCollector` calls the same collector instances (no second gc callback is
installed) so the metrics stay on tripod's /metrics even if someone unregistered them there;
the registry drops whichever copy comes second, so no family appears twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Set
from typing import Any

__all__ = ["RuntimeCollector", "thread_count"]

_STATUS = "/proc/self/status"


def thread_count() -> int:
    """OS threads of this process (``Threads:`` in /proc/self/status), else Python threads."""
    try:
        with open(_STATUS, "rb") as fh:
            for line in fh:
                if line.startswith(b"Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return threading.active_count()


class RuntimeCollector:
    """``process_*``, ``python_gc_*``, ``python_info`` and ``process_threads`` families."""

    def collect(self) -> Iterator[Any]:
        return self.collect_unless(frozenset())

    def collect_unless(self, taken: Set[str]) -> Iterator[Any]:
        """Families whose collector's first family is not in ``taken`` already (re-reading
        /proc for metrics prometheus_client's registry just gave would double the scrape cost)."""
        import prometheus_client  # at the first scrape, not at import
        from prometheus_client.core import GaugeMetricFamily

        for first, collector in (
            ("process_cpu_seconds", prometheus_client.PROCESS_COLLECTOR),
            ("python_info", prometheus_client.PLATFORM_COLLECTOR),
            ("python_gc_objects_collected", prometheus_client.GC_COLLECTOR),
        ):
            if first not in taken:
                yield from collector.collect()
        if "process_threads" not in taken:
            yield GaugeMetricFamily(
                "process_threads", "Number of OS threads in the process.", value=thread_count()
            )
