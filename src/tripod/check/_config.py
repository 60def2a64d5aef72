"""``tripod check``'s options: ``[tool.tripod.check]`` in pyproject.toml, then the command line."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

from tripod.check._model import RULES, Severity

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(text: str) -> float | None:
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    return sum(int(n) * _UNIT_S[u] for n, u in parts)


_KEYS = {"select", "ignore", "fail-on", "scrape-interval", "exclude", "paths"}


class CheckConfigError(ValueError):
    """A usage or configuration error: one line, exit 2."""


@dataclasses.dataclass(frozen=True)
class Options:
    select: frozenset[str] | None = None  # None: every rule
    ignore: frozenset[str] = frozenset()
    fail_on: Severity = Severity.BUG
    scrape_interval: float | None = None  # seconds; None: prometheus.yml's, else 15 s
    exclude: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    def enabled(self, rule: str) -> bool:
        if rule in self.ignore:
            return False
        return self.select is None or rule in self.select


def rule_ids(text: str | list[str] | tuple[str, ...], where: str) -> frozenset[str]:
    items = text.split(",") if isinstance(text, str) else list(text)
    ids = {str(i).strip() for i in items if str(i).strip()}
    bad = sorted(ids - set(RULES))
    if bad:
        msg = f"{where}: unknown rule {bad[0]!r} (see docs/check.md for the rule ids)"
        raise CheckConfigError(msg)
    return frozenset(ids)


def find_pyproject(start: Path) -> Path | None:
    here = start.resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def from_pyproject(path: Path | None) -> dict[str, Any]:
    """The ``[tool.tripod.check]`` table, keys normalised to dashes; errors name the key."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: cannot read ({exc})"
        raise CheckConfigError(msg) from None
    table = data.get("tool", {}).get("tripod", {}).get("check", {})
    if not isinstance(table, dict):
        msg = f"{path}: [tool.tripod.check] must be a table"
        raise CheckConfigError(msg)
    out = {str(k).replace("_", "-"): v for k, v in table.items()}
    unknown = sorted(set(out) - _KEYS)
    if unknown:
        expected = ", ".join(sorted(_KEYS))
        msg = f"{path}: [tool.tripod.check] {unknown[0]!r}: unknown key; expected one of {expected}"
        raise CheckConfigError(msg)
    for key in ("select", "ignore", "exclude", "paths"):
        value = out.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            msg = f"{path}: [tool.tripod.check] {key} = {value!r}: expected a list of strings"
            raise CheckConfigError(msg)
    for key in ("fail-on", "scrape-interval"):
        if key in out and not isinstance(out[key], str):
            msg = f"{path}: [tool.tripod.check] {key} = {out[key]!r}: expected a string"
            raise CheckConfigError(msg)
    return out


def build(
    table: dict[str, Any],
    *,
    select: str | None,
    ignore: str | None,
    fail_on: str | None,
    where: str,
) -> Options:
    sel = select if select is not None else table.get("select")
    ign = ignore if ignore is not None else table.get("ignore")
    fail = fail_on if fail_on is not None else table.get("fail-on", "bug")
    try:
        severity = Severity.parse(fail)
    except ValueError as exc:
        raise CheckConfigError(f"{where if fail_on is None else '--fail-on'}: {exc}") from None
    scrape = None
    if "scrape-interval" in table:
        scrape = seconds(table["scrape-interval"])
        if not scrape:
            value = table["scrape-interval"]
            msg = f"{where}: scrape-interval = {value!r}: expected a duration such as '15s'"
            raise CheckConfigError(msg)
    return Options(
        select=rule_ids(sel, "--select" if select is not None else where) if sel else None,
        ignore=rule_ids(ign, "--ignore" if ignore is not None else where) if ign else frozenset(),
        fail_on=severity,
        scrape_interval=scrape,
        exclude=tuple(table.get("exclude", ())),
        paths=tuple(table.get("paths", ())),
    )
