"""Checks that need the whole project: never-recorded metrics, unit mismatches, coverage."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from tripod.check._model import RULES, Finding
from tripod.check._pyfacts import MetricDecl, ModuleFacts

MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "manage.py", "requirements.txt")


def _finding(rule: str, path: str, line: int, col: int, message: str) -> Finding:
    r = RULES[rule]
    return Finding(path, line, col, rule, r.severity, message, r.hint)


def used_names(modules: Sequence[ModuleFacts]) -> set[str]:
    """Every key recorded or used in a way the scanner cannot follow, through aliases."""
    used: set[str] = set()
    aliases: dict[str, set[str]] = {}
    for facts in modules:
        used |= facts.recorded
        used |= facts.escaped
        for alias, target in facts.aliases.items():
            aliases.setdefault(alias, set()).add(target)
    pending = [a for a in aliases if a in used]
    while pending:
        for target in aliases.get(pending.pop(), ()):
            if target not in used:
                used.add(target)
                pending.append(target)
    return used


def _last(key: str) -> str:
    return key.rpartition(".")[2]


def same(a: str, b: str) -> bool:
    """Whether two keys may name the same object: equal, ``*.X`` against any ``X``, or one a
    dotted suffix of the other (a folder without ``__init__.py`` shortens module names)."""
    if _last(a) != _last(b):
        return False
    return (
        a == b
        or a.startswith("*.")
        or b.startswith("*.")
        or a.endswith("." + b)
        or b.endswith("." + a)
    )


def never_recorded(modules: Sequence[ModuleFacts]) -> list[Finding]:
    by_last: dict[str, list[str]] = {}
    for key in used_names(modules):
        by_last.setdefault(_last(key), []).append(key)
    out: list[Finding] = []
    for facts in modules:
        for d in facts.decls:
            if not d.binding or d.source == "spec":
                continue
            if any(same(d.binding, k) for k in by_last.get(_last(d.binding), ())):
                continue
            message = f"{d.kind} {d.name} ({_last(d.binding)}) is declared but never recorded"
            out.append(_finding("never-recorded", d.path, d.line, d.col, message))
    return out


def _unit(name: str) -> str | None:
    words = name.removesuffix("_total").split("_")
    if "seconds" in words:
        return "seconds"
    if words and words[-1] in {"ms", "milliseconds", "millis"}:
        return "ms"
    if "bytes" in words:
        return "bytes"
    return None


_MISMATCH = {
    ("seconds", "mul1000"): "multiplies by 1000 (milliseconds)",
    ("seconds", "ms"): "records a value in milliseconds",
    ("seconds", "ns"): "records nanoseconds",
    ("ms", "div1000"): "divides by 1000 (seconds)",
    ("bytes", "div1024"): "divides by 1024 (kibibytes)",
}


def unit_mismatches(modules: Sequence[ModuleFacts]) -> list[Finding]:
    by_last: dict[str, list[MetricDecl]] = {}
    aliases: dict[str, str] = {}
    for facts in modules:
        aliases.update(facts.aliases)
        for d in facts.decls:
            if d.binding and d.kind in {"histogram", "summary", "gauge"}:
                by_last.setdefault(_last(d.binding), []).append(d)
    out: list[Finding] = []
    for facts in modules:
        for site in facts.observes:
            binding, hops = site.binding, 0
            while binding in aliases and hops < 5:
                binding, hops = aliases[binding], hops + 1
            decls = [d for d in by_last.get(_last(binding), ()) if same(d.binding or "", binding)]
            for decl in decls:
                unit = _unit(decl.name)
                why = _MISMATCH.get((unit, site.scale)) if unit else None
                if why:
                    message = f"{decl.name} is named in {unit} but this call {why}"
                    out.append(_finding("unit-mismatch", site.path, site.line, site.col, message))
    return out


def unit_root(path: Path, roots: Iterable[Path]) -> Path:
    """The project folder ``path`` belongs to: the nearest folder with a project marker, not
    above the checked root that holds it."""
    return Path(_unit_of(os.path.dirname(os.path.abspath(path)), tuple(str(r) for r in roots)))


@functools.lru_cache(maxsize=4096)
def _unit_of(folder: str, roots: tuple[str, ...]) -> str:
    if any(os.path.exists(os.path.join(folder, m)) for m in MARKERS) or folder in roots:
        return folder
    parent = os.path.dirname(folder)
    return folder if parent == folder else _unit_of(parent, roots)


def coverage(
    modules: Sequence[ModuleFacts], units: dict[str, Path], launched: set[Path]
) -> list[Finding]:
    instrumented = {units[f.path] for f in modules if f.instrumented} | launched
    out: list[Finding] = []
    for facts in modules:
        unit = units[facts.path]
        if unit in instrumented or any(unit.is_relative_to(p) for p in launched):
            continue
        for entry in facts.entries:
            kind = "route" if entry.kind == "route" else "Celery task"
            message = f"{kind} {entry.what} runs in an app that is never instrumented"
            out.append(_finding("coverage", entry.path, entry.line, entry.col, message))
    return out
