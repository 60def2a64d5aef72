"""Hatch build hook: a wheel or sdist of tripod must carry the built web UI, and a wheel (or an
editable install) gets the compiled span decoder.

``src/tripod/server/ui/static/`` is gitignored (``make ui`` writes it), so pyproject.toml lists
it as an artifact of both targets; this hook refuses to build either without ``index.html``,
so ``pip install tripod[server]`` never needs Node and never serves a UI-less page. Editable
installs (``pip install -e .``) are let through: they serve whatever ``make ui`` last built.

The span decoder (``src/tripod/server/ingest/_spans_c.c``, CPython's C API, no other library) is
compiled with the C compiler Python was built with (``CC`` overrides it): in place for an
editable install, into the wheel otherwise (which then carries the platform's tag). Without a C
compiler or Python's headers the build goes on with a warning: tripod then converts spans in
pure Python (same answers, about two thirds of the span ingest rate).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

STATIC = Path("src") / "tripod" / "server" / "ui" / "static"
REQUIRED = ("index.html", "manifest.json", "THIRD_PARTY_LICENSES.txt")
EXTENSION = Path("src") / "tripod" / "server" / "ingest" / "_spans_c.c"


class MissingUIBuildError(Exception):
    """The UI build output is missing: the message says how to make it."""


def check_ui_build(root: Path) -> None:
    """Raise :class:`MissingUIBuildError` unless ``root``'s UI build output is complete."""
    static = root / STATIC
    missing = [name for name in REQUIRED if not (static / name).is_file()]
    if not missing and not any((static / "assets").glob("*.js")):
        missing = ["assets/*.js"]
    if missing:
        msg = (
            f"tripod's web UI is not built ({', '.join(str(STATIC / m) for m in missing)} "
            "missing): run `make ui` (needs Node.js 20+ and npm) before building a wheel or sdist"
        )
        raise MissingUIBuildError(msg)


def compile_extension(source: Path, out_dir: Path) -> Path | None:
    """``source`` compiled into an extension module in ``out_dir``; None (with a warning on
    stderr) when it can't be: the pure-Python path then does the work."""
    target = out_dir / (source.stem + str(sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
    cc = shlex.split(os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc"))
    if not cc or shutil.which(cc[0]) is None:
        cc = ["cc"]
    include = sysconfig.get_paths()["include"]
    argv = [*cc, "-O2", "-shared", "-fPIC", "-Wall", f"-I{include}", str(source), "-o", str(target)]
    # A module left from an earlier build must not outlive a failed rebuild of changed source.
    target.unlink(missing_ok=True)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    except OSError as exc:
        print(f"tripod: not compiling {source.name} ({exc}); spans are converted in pure Python",
              file=sys.stderr)  # fmt: skip
        return None
    if done.returncode != 0:
        print(f"tripod: compiling {source.name} failed, spans are converted in pure Python:\n"
              + done.stderr[-2000:], file=sys.stderr)  # fmt: skip
        return None
    return target


class UIBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        if self.target_name == "wheel":
            source = root / EXTENSION
            if version == "editable":  # in place, beside the sources the install points at
                compile_extension(source, source.parent)
                return
            self._tmp = tempfile.mkdtemp(prefix="tripod-ext-")
            built = compile_extension(source, Path(self._tmp))
            if built is not None:
                build_data["force_include"][str(built)] = str(
                    EXTENSION.parent.relative_to("src") / built.name
                )
                build_data["pure_python"] = False
                build_data["infer_tag"] = True
        check_ui_build(root)

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
