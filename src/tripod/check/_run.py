"""``tripod check`` end to end: read the files once, run every check, filter, sort."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import json
import multiprocessing
import os
from collections.abc import Sequence
from pathlib import Path

from tripod.check import _naming, _project, _promql
from tripod.check._config import CheckConfigError, Options
from tripod.check._files import LAUNCH_WORDS, discover, launcher
from tripod.check._model import RULES, Finding
from tripod.check._pyfacts import ModuleFacts
from tripod.check._pyscan import scan
from tripod.check._refs import LIBRARY_EXPORTS, Known, PromqlUse, catalog_series, unknown
from tripod.check._suppress import Suppressions

DEFAULT_SCRAPE_INTERVAL = 15.0


@dataclasses.dataclass
class Report:
    findings: list[Finding]
    files: int
    python_lines: int
    notices: list[str]


@dataclasses.dataclass
class _Inputs:
    modules: list[ModuleFacts] = dataclasses.field(default_factory=list)
    rule_files: list[tuple[str, list[object]]] = dataclasses.field(default_factory=list)
    dashboards: list[tuple[str, str, dict[str, object]]] = dataclasses.field(default_factory=list)
    suppressions: dict[str, Suppressions] = dataclasses.field(default_factory=dict)
    launched: set[Path] = dataclasses.field(default_factory=set)
    scrape: float | None = None
    findings: list[Finding] = dataclasses.field(default_factory=list)
    yaml_missing: bool = False
    slo_queries: list[tuple[str, str, int]] = dataclasses.field(default_factory=list)


def _display(path: Path, cwd: str) -> str:
    """``path`` relative to the working folder when it is inside it (as findings show it)."""
    absolute = os.path.abspath(path)
    if absolute.startswith(cwd + os.sep):
        return Path(absolute[len(cwd) + 1 :]).as_posix()
    return path.as_posix()


@functools.lru_cache(maxsize=4096)
def _package_of(folder: str) -> str:
    """The dotted package a folder is, from the ``__init__.py`` files above it ("" if none)."""
    if not os.path.isfile(os.path.join(folder, "__init__.py")):
        return ""
    parent = os.path.dirname(folder)
    above = _package_of(parent) if parent != folder else ""
    name = os.path.basename(folder)
    return f"{above}.{name}" if above else name


def module_name(path: Path) -> tuple[str, str]:
    """(dotted module name, its package) from the ``__init__.py`` files above ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    package = _package_of(folder)
    if path.stem == "__init__":
        return package or os.path.basename(folder), package
    module = f"{package}.{path.stem}" if package else path.stem
    return module, package


def _read_yaml(inputs: _Inputs, shown: str, text: str) -> None:
    try:
        from tripod.check import _rulefiles
    except ImportError:
        inputs.yaml_missing = True
        return
    import yaml

    if "groups:" not in text and "scrape_interval" not in text and "openslo/" not in text:
        return
    try:
        docs = _rulefiles.compose(text)
    except yaml.YAMLError as exc:
        if "groups:" in text:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            r = RULES["rule-yaml"]
            problem = getattr(exc, "problem", None)
            first = f"not valid YAML: {problem}" if problem else str(exc).splitlines()[0]
            inputs.findings.append(Finding(shown, line, 1, r.id, r.severity, first, r.hint))
        return
    if "openslo/" in text:
        inputs.slo_queries.extend((shown, q, line) for q, line in _rulefiles.openslo_queries(docs))
    if _rulefiles.is_rule_file(docs):
        inputs.rule_files.append((shown, list(docs)))
    elif inputs.scrape is None and (found := _rulefiles.scrape_interval(docs)):
        inputs.scrape = found


def _read(paths: Sequence[Path], options: Options, roots: list[Path]) -> _Inputs:
    inputs = _Inputs()
    jobs: list[tuple[str, str, str, str]] = []
    cwd = os.getcwd()
    for path in discover(paths, options.exclude):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        shown = _display(path, cwd)
        inputs.suppressions[shown] = Suppressions(text)
        is_launcher = launcher(path) or path.suffix in {".yml", ".yaml"}
        if is_launcher and any(word in text for word in LAUNCH_WORDS):
            inputs.launched.add(_project.unit_root(path, roots))
        if path.suffix == ".py":
            module, package = module_name(path)
            jobs.append((shown, text, module, package))
        elif path.suffix in {".yml", ".yaml"}:
            _read_yaml(inputs, shown, text)
        elif path.suffix == ".json" and '"panels"' in text:
            try:
                data = json.loads(text)
            except ValueError:
                continue
            from tripod.check._dashboards import is_dashboard

            if is_dashboard(data):
                inputs.dashboards.append((shown, text, data))
    inputs.modules = _scan_all(jobs)
    return inputs


#: Above this much Python source, modules are parsed in worker processes (one per core, up to 4).
PARALLEL_BYTES = 4_000_000


def _scan_one(job: tuple[str, str, str, str]) -> ModuleFacts:
    return scan(*job)


def _scan_all(jobs: list[tuple[str, str, str, str]]) -> list[ModuleFacts]:
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or sum(len(j[1]) for j in jobs) < PARALLEL_BYTES:
        return [scan(*job) for job in jobs]
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(_scan_one, jobs, chunksize=16))


def _known(inputs: _Inputs) -> tuple[Known, frozenset[str]]:
    known = Known()
    decls = [d for m in inputs.modules for d in m.decls]
    imported = {name for m in inputs.modules for name in m.imported}
    known.add_project(n for d in decls for n in d.series)
    known.prefixes.extend(p for m in inputs.modules for p in m.dynamic_prefixes)
    uses_tripod = not inputs.modules or any(i.split(".")[0] == "tripod" for i in imported)
    if uses_tripod or inputs.launched:
        known.add_project(catalog_series())
    for library, names in LIBRARY_EXPORTS.items():
        if any(i.startswith(library) for i in imported):
            known.add_project(names)
    counters = {
        n for d in decls if d.kind in {"counter", "histogram", "summary"} for n in d.series
    } | {n for n in known.names if n.endswith(("_total", "_count", "_sum", "_bucket"))}
    return known, frozenset(counters)


def _promql_files(inputs: _Inputs, scrape: float, counters: frozenset[str]) -> list[PromqlUse]:
    uses: list[PromqlUse] = []
    for shown, query, line in inputs.slo_queries if _promql.AVAILABLE else ():
        try:
            facts = _promql.facts(query)
        except ValueError as exc:
            r = RULES["promql-syntax"]
            message = f"OpenSLO query: {exc}"
            inputs.findings.append(Finding(shown, line, 1, r.id, r.severity, message, r.hint))
            continue
        uses.extend(
            PromqlUse(s.name, shown, line, "OpenSLO query") for s in facts.selectors if s.name
        )
    if inputs.rule_files:
        from tripod.check._rulefiles import RuleChecker, rules_of

        for shown, docs in inputs.rule_files:
            known = inputs.scrape is not None
            checker = RuleChecker(shown, scrape, counters, scrape_known=known)
            for rule in rules_of(docs):  # type: ignore[arg-type]
                checker.check(rule)
            inputs.findings.extend(checker.findings)
            uses.extend(checker.uses)
    if inputs.dashboards:
        from tripod.check._dashboards import DashboardChecker

        for shown, text, data in inputs.dashboards:
            board = DashboardChecker(shown, text, scrape, counters)
            board.check(data)
            inputs.findings.extend(board.findings)
            uses.extend(board.uses)
    return uses


def run(paths: Sequence[Path], options: Options, only: set[Path] | None = None) -> Report:
    """Check ``paths``; ``only`` limits the report to those files (``--changed-only``), while the
    whole tree is still read (a metric recorded in an unchanged file is still recorded)."""
    for path in paths:
        if not path.exists():
            msg = f"{path}: no such file or folder"
            raise CheckConfigError(msg)
    roots = [Path(os.path.abspath(p)) for p in paths]
    inputs = _read(paths, options, roots)
    notices: list[str] = []
    modules = inputs.modules
    inputs.findings.extend(f for m in modules for f in m.findings)
    inputs.findings.extend(_naming.lint(d for m in modules for d in m.decls))
    inputs.findings.extend(_project.never_recorded(modules))
    inputs.findings.extend(_project.unit_mismatches(modules))
    units = {m.path: _project.unit_root(Path(m.path), roots) for m in modules}
    inputs.findings.extend(_project.coverage(modules, units, inputs.launched))
    recorded_outputs: set[str] = set()
    if inputs.rule_files:
        from tripod.check._rulefiles import rules_of

        recorded_outputs = {
            rule.name
            for _, docs in inputs.rule_files
            for rule in rules_of(docs)  # type: ignore[arg-type]
            if rule.kind == "record"
        }
    known, counters = _known(inputs)
    known.names |= recorded_outputs
    if options.scrape_interval:
        inputs.scrape = options.scrape_interval
    scrape = inputs.scrape or DEFAULT_SCRAPE_INTERVAL
    if not _promql.AVAILABLE and (inputs.rule_files or inputs.dashboards):
        notices.append(
            "tripod check: promql-parser is not installed; PromQL checks skipped "
            "(pip install 'tripod[check]')"
        )
    if inputs.yaml_missing:
        notices.append(
            "tripod check: PyYAML is not installed; rule files skipped "
            "(pip install 'tripod[check]')"
        )
    uses = _promql_files(inputs, scrape, counters)
    inputs.findings.extend(unknown(uses, known))
    findings = _filter(inputs, options, only)
    lines = sum(m.lines for m in modules)
    return Report(sorted(set(findings)), len(inputs.suppressions), lines, notices)


def _filter(inputs: _Inputs, options: Options, only: set[Path] | None) -> list[Finding]:
    out: list[Finding] = []
    for f in inputs.findings:
        if not options.enabled(f.rule):
            continue
        supp = inputs.suppressions.get(f.path)
        if supp is not None and supp.hides(f):
            continue
        if only is not None and Path(f.path).resolve() not in only:
            continue
        out.append(f)
    return out
