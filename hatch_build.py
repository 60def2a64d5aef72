"""Hatch build hook: a wheel or sdist of tripod must carry the built web UI.

``src/tripod/server/ui/static/`` is gitignored (``make ui`` writes it), so pyproject.toml lists
it as an artifact of both targets; this hook refuses to build either without ``index.html``,
so ``pip install tripod[server]`` never needs Node and never serves a UI-less page. Editable
installs (``pip install -e .``) are let through: they serve whatever ``make ui`` last built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

STATIC = Path("src") / "tripod" / "server" / "ui" / "static"
REQUIRED = ("index.html", "manifest.json", "THIRD_PARTY_LICENSES.txt")


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


class UIBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "editable":
            return
        check_ui_build(Path(self.root))
