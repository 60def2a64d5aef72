"""Running the suite on several cores (``pytest -n 2``, pytest-xdist, as ``make test`` does).

- Files go to the workers whole (``--dist loadfile``: a file's module and session fixtures start
  once), the longest files first (``--no-loadscope-reorder`` keeps this order) so that no long
  file starts last and keeps one core busy alone at the end. The browser tests come last, as in
  a serial run: Playwright's sync API leaves an event loop running in the worker's main thread
  until the session ends, where ``asyncio.run()`` and Django's async-safety check would fail.
- ``@pytest.mark.alone``: no other test runs while it does (a latency comparison, which the
  other worker's load would spoil). Elsewhere tests run side by side as usual.
- The PromQL conformance summary (``tests/conformance``) counts the cases of every worker.

A run without ``-n`` is unchanged: the files in their usual order, no locks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: The longest files of a serial run (seconds of tests, 2026-12-03), started first under xdist.
LONGEST_FIRST = (
    "tests/server/promql/test_batches.py",  # 177
    "tests/codegen/test_stack_e2e.py",  # 83
    "tests/server/fuzz/test_fuzz.py",  # 88
    "tests/conformance/test_conformance.py",  # 60
    "tests/e2e/test_alerting.py",  # 46
    "tests/codegen/test_tools.py",  # 45
    "tests/server/ingest/test_import_text.py",  # 42
    "tests/server/store/test_chunks.py",  # 40
    "tests/sdk/metrics/test_multiprocess.py",  # 36
    "tests/sdk/integrations/test_django_celery_stack.py",  # 25
    "tests/sdk/integrations/test_celery.py",  # 24
)

#: Run after every other file on their worker (see the module doc).
LAST = ("tests/ui/test_browser.py",)

_OUTCOMES_KEY = "tripod_conformance_outcomes"


def _under_xdist(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "alone: no other test runs at the same time under pytest-xdist"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _under_xdist(config):
        return
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    rank.update({path: len(LONGEST_FIRST) + 1 for path in LAST})
    # sorted() is stable: the other files, and the tests inside each file, keep their order
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(LONGEST_FIRST)))


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _alone_or_side_by_side(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """A readers-writer lock shared by the workers (files in the run's common temp folder): every
    test holds it shared, an ``alone`` test exclusively. The turnstile keeps an ``alone`` test
    from waiting forever while the other worker starts test after test."""
    if not _under_xdist(request.config):
        yield
        return
    common = tmp_path_factory.getbasetemp().parent  # pytest-N/, above each worker's popen-gwX/
    turnstile, shared = common / "tests-turnstile.lock", common / "tests-alone.lock"
    if request.node.get_closest_marker("alone") is None:
        with _flock(turnstile, fcntl.LOCK_EX):
            pass
        with _flock(shared, fcntl.LOCK_SH):
            yield
        return
    with _flock(turnstile, fcntl.LOCK_EX), _flock(shared, fcntl.LOCK_EX):
        yield


def _conformance_outcomes() -> dict[str, dict[str, object]]:
    """This process's conformance outcomes (none if the conformance tests were not loaded)."""
    module = sys.modules.get("tests.conformance.conftest")
    return getattr(module, "OUTCOMES", {})


#: What the workers' conformance tests found, gathered in the controller.
_FROM_WORKERS: dict[str, dict[str, object]] = {}


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands its conformance outcomes to the controller (see pytest_testnodedown)."""
    workeroutput: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_OUTCOMES_KEY] = json.dumps(_conformance_outcomes())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    outcomes = getattr(node, "workeroutput", {}).get(_OUTCOMES_KEY)
    if outcomes:
        _FROM_WORKERS.update(json.loads(outcomes))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The PromQL conformance line (and ``TRIPOD_CONFORMANCE_REPORT``'s file), whether the cases
    ran here or on xdist workers."""
    outcomes = {**_conformance_outcomes(), **_FROM_WORKERS}
    if not outcomes:
        return
    total = len(outcomes)
    equal = sum(1 for o in outcomes.values() if o["equal"])
    xfailed = sum(1 for o in outcomes.values() if o["xfail"] and not o["equal"])
    terminalreporter.write_sep("-", "PromQL conformance")
    terminalreporter.write_line(
        f"{equal}/{total} cases equal to Prometheus ({100.0 * equal / total:.1f}%); "
        f"{xfailed} known differences marked xfail"
    )
    target = os.environ.get("TRIPOD_CONFORMANCE_REPORT")
    if target:
        Path(target).write_text(json.dumps(outcomes, indent=1, sort_keys=True) + "\n")
        terminalreporter.write_line(f"outcomes written to {target}")


def _spinning_servers() -> list[str]:
    """Threads still in ``serve_forever()`` of a server whose socket is closed: each polls the
    closed descriptor in a busy loop, taking the GIL from every later test in the process (five
    of them made the PromQL tests ten times slower once)."""
    found = []
    for thread in threading.enumerate():
        target = getattr(thread, "_target", None)
        server = getattr(target, "__self__", None)
        if getattr(target, "__name__", "") != "serve_forever" or server is None:
            continue
        sock = getattr(server, "socket", None)
        if sock is not None and sock.fileno() == -1:
            found.append(f"{thread.name} ({type(server).__name__})")
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """After a test's teardown (module and session fixtures included, when they end there), no
    new spinning server: reported as an error of that test."""
    before = set(_spinning_servers())
    yield
    left = [name for name in _spinning_servers() if name not in before]
    if left:
        pytest.fail(
            "a server's socket was closed with serve_forever() still running (call shutdown() "
            f"before server_close()): {', '.join(left)}"
        )
