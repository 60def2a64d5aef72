"""Which pre-fork server runs this process, and the private metrics directory it gets.

When ``TRIPOD_MULTIPROC_DIR`` is unset, tripod looks, once (when ``tripod.sdk.metrics`` is
first imported), for a pre-fork server around the process:

- a **gunicorn worker** (any worker class: sync, gthread, gevent, ``uvicorn.workers``): the
  worker object loading the app is on the stack (its ``ppid`` is the master), or the parent
  process is a ``gunicorn`` command;
- the **gunicorn master** itself (``--preload``, a ``gunicorn.conf.py`` importing the app, or
  ``tripod run``): the arbiter is on the stack, or this process is a ``gunicorn`` command;
- a **uvicorn worker** (``uvicorn --workers N``/``--reload``): a ``multiprocessing`` child of a
  process running uvicorn, or a child of a ``uvicorn`` command;
- the **uvicorn supervisor** (``uvicorn ... --workers N`` started by ``tripod run``).

Every process of that server then uses ``$TMPDIR/tripod-multiproc-<uid>/<master pid>-<master
start time>`` (mode 0700): the same for all workers, different for every server run (a reused
pid has another start time). Creating it removes sibling directories whose master is gone, so
directories of old runs do not pile up.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pathlib, shutil and tempfile are imported when a directory is made
    from pathlib import Path

__all__ = ["ENV", "GAUGE_MODES", "detect_master", "pid_alive", "server_dir", "sharing_wanted"]

#: Names the shared directory (``off``: no sharing); see ``_multiprocess``.
ENV = "TRIPOD_MULTIPROC_DIR"
#: How a gauge is shown when values are shared between workers.
GAUGE_MODES = ("livesum", "liveall")
_ROOT = "tripod-multiproc"


def sharing_wanted() -> bool:
    """False when this process surely keeps its metric values to itself: ``TRIPOD_MULTIPROC_DIR``
    is unset or ``off`` and no pre-fork server's package is imported. Lets the registry skip
    importing ``_multiprocess`` (and pathlib, shutil, tempfile) in the common case; True means
    ``_multiprocess.factory_from_env()`` decides."""
    directory = os.environ.get(ENV, "").strip()
    if directory:
        return directory.lower() != "off"
    return "gunicorn" in sys.modules or "uvicorn" in sys.modules


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _cmdline(pid: int) -> list[str]:
    try:
        raw = _read(f"/proc/{pid}/cmdline")
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _server_of(argv: list[str]) -> str | None:
    """``gunicorn``/``uvicorn`` if ``argv`` runs one (``gunicorn``, ``python -m gunicorn``...)."""
    for word in argv[:4]:
        base = os.path.basename(word)
        for name in ("gunicorn", "uvicorn"):
            if base == name or base.startswith(f"{name}:"):  # setproctitle: "gunicorn: master"
                return name
    return None


def _on_stack() -> int | None:
    """The master pid if a gunicorn worker or arbiter is loading us, else None."""
    workers: Any = sys.modules.get("gunicorn.workers.base")
    arbiter: Any = sys.modules.get("gunicorn.arbiter")
    frame = sys._getframe(1)
    while frame is not None:
        owner = frame.f_locals.get("self")
        if workers is not None and isinstance(owner, workers.Worker):
            return int(owner.ppid)
        if arbiter is not None and isinstance(owner, arbiter.Arbiter):
            return os.getpid()
        frame = frame.f_back  # type: ignore[assignment]
    return None


def detect_master() -> int | None:
    """The pid of the pre-fork server's master this process belongs to, or None.

    Only a process that imported the server's package is considered, so a program a worker
    starts (a script, a subprocess) is never taken for a worker.
    """
    if "gunicorn" in sys.modules:
        found = _on_stack()
        if found is not None:
            return found
        if _server_of(_cmdline(os.getppid())) == "gunicorn":
            return os.getppid()
        if _server_of(_cmdline(os.getpid())) == "gunicorn":
            return os.getpid()
    if "uvicorn" in sys.modules:
        import multiprocessing

        spawner = multiprocessing.parent_process()
        if spawner is not None and spawner.pid is not None:
            return int(spawner.pid)
        if _server_of(_cmdline(os.getppid())) == "uvicorn":
            return os.getppid()
        own = _cmdline(os.getpid())
        if _server_of(own) == "uvicorn" and "--workers" in own:
            return os.getpid()
    return None


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ("0" where /proc is missing)."""
    try:
        stat = _read(f"/proc/{pid}/stat").decode()
    except OSError:
        return "0"
    return stat.rsplit(")", 1)[1].split()[19]


def pid_alive(pid: int, start: str = "0") -> bool:
    """Whether process ``pid`` still runs (and, given its ``start`` time from ``/proc``, is the
    same process, not a reuse of its pid). A process of another user counts as alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return start == "0" or _start_time(pid) == start


def server_dir(master: int, root: Path | None = None) -> Path:
    """The private directory of the server whose master is ``master`` (made, old ones swept)."""
    import shutil
    import tempfile
    from pathlib import Path

    base = root or Path(tempfile.gettempdir()) / f"{_ROOT}-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    if base.stat().st_uid != os.getuid() or base.stat().st_mode & 0o077:
        msg = f"{base} is not private to this user; set TRIPOD_MULTIPROC_DIR"
        raise PermissionError(msg)
    path = base / f"{master}-{_start_time(master)}"
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return path  # another worker of the same server made it
    for other in base.iterdir():  # a new server: sweep the directories of dead ones
        pid, _, start = other.name.partition("-")
        if other != path and pid.isdigit() and not pid_alive(int(pid), start):
            shutil.rmtree(other, ignore_errors=True)
    return path
