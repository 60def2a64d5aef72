"""``POST /api/v1/import/prometheus``: bulk load of exposition text with timestamps.

Takes Prometheus text 0.0.4 (timestamps in milliseconds) or, with ``Content-Type:
application/openmetrics-text``, OpenMetrics 1.0 (timestamps in seconds, ``# EOF``), the file
``promtool tsdb create-blocks-from openmetrics`` reads. Samples without a timestamp get "now".

A body with a syntax error is refused whole (400 naming the line) and nothing is stored. A
well-formed body is stored; samples the store refuses (out of order, duplicate, limits) are
counted and named in a 400 while the rest of the batch is kept, as Prometheus remote write does.

The parser is our own: prometheus_client's parsers run at ~74k samples/s here and report no line
numbers (docs/benchmarks.md). The endpoint (``import_endpoint.py``) first tries ``_import_fast``
on the raw bytes (single
spaces between tokens: split in C, series text looked up in a memo of store refs kept across
requests, numbers converted in bulk); a body it does not take is decoded and parsed whole here
(one regex pass, conversions in C, labels parsed once per distinct series), and anything that
does not take either goes through the line-by-line parser, which names the first bad line. The
scraper uses :func:`parse_exposition`.
"""

from __future__ import annotations

import gc
import math
import re
from dataclasses import dataclass, field

import numpy as np

from tripod.server.deps import ServerContext
from tripod.server.store.model import AppendResult, LabelError

__all__ = ["ExpositionError", "ParsedExposition", "parse_exposition"]

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_NAME_RE = re.compile(_NAME + r"\Z")
_LABEL_RE = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"[ \t]*')
_SERIES_RE = re.compile(r"[ \t]*(" + _NAME + r")[ \t]*(\{)?")
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_ESCAPE_RE = re.compile(r"\\[\\\"n]")
_FLOAT_RE = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[Ii]nf|[Ii]nfinity|NaN)\Z"
)
# Whole-body patterns of the fast path: one C-level pass instead of a Python loop per line.
_SAMPLE_LINE = re.compile(
    r"^[ \t]*("
    + _NAME
    + r"(?:[ \t]*\{[^\n]*\})?)[ \t]+([^ \t\r\n]+)(?:[ \t]+([^ \t\r\n]+))?[ \t]*\r?$",
    re.MULTILINE,
)  # the label set is checked exactly later, once per distinct series
_MIN_MS, _MAX_MS = -(2**63), 2**63 - 1  # timestamps the store keeps (int64 ms)
_NOT_NUMBER = str.maketrans("", "", "0123456789.eE+-\n")  # deletes the characters of numbers
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped", "unknown", "gaugehistogram",
          "info", "stateset"}  # fmt: skip


class ExpositionError(ValueError):
    """A syntax error at ``line`` (1-based)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


@dataclass
class ParsedExposition:
    """Columns of the parsed samples, keyed by the series' text as written."""

    series_text: list[str] = field(default_factory=list)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    stamps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    #: OpenMetrics exemplars: (series text, exemplar labels, value, timestamp ms)
    exemplars: list[tuple[str, dict[str, str], float, int]] = field(default_factory=list)


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)


_PAIR = r'[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"'
_SIMPLE_SERIES = re.compile(
    r"(" + _NAME + r")(?:\{((?:" + _PAIR + r"(?:," + _PAIR + r")*,?)?)\})?\Z"
)  # no spaces, no escapes: most series text, parsed in two C-level calls
_PAIR_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\\n]*)"')


def _parse_series(text: str, lineno: int) -> tuple[dict[str, str], int]:
    """Labels of the series at the start of ``text`` and where the series text ends."""
    simple = _SIMPLE_SERIES.match(text)
    if simple is not None:
        pairs = _PAIR_RE.findall(simple.group(2) or "")
        labels = {"__name__": simple.group(1), **dict(pairs)}
        if len(labels) == len(pairs) + 1:  # else a label repeats: the general path says which
            return labels, len(text)
    m = _SERIES_RE.match(text)
    if m is None:
        raise ExpositionError(lineno, f"expected a metric name, got {text[:60]!r}")
    labels = {"__name__": m.group(1)}
    pos = m.end()
    if m.group(2) is None:
        return labels, pos
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        lm = _LABEL_RE.match(text, pos)
        if lm is None:
            raise ExpositionError(lineno, f"malformed label set near {text[pos : pos + 40]!r}")
        name = lm.group(1)
        if name in labels:
            raise ExpositionError(lineno, f"label {name!r} appears twice")
        labels[name] = _unescape(lm.group(2))
        pos = lm.end()
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos >= len(text) or text[pos] != "}":
            raise ExpositionError(lineno, f"expected ',' or '}}' after label {name!r}")


def _parse_float(token: str, lineno: int, what: str) -> float:
    if not _FLOAT_RE.match(token):
        raise ExpositionError(lineno, f"{what} {token!r} is not a number")
    return float(token)


def _comment(line: str, lineno: int, out: ParsedExposition, openmetrics: bool) -> bool:
    """Handle a ``#`` line; True when it is OpenMetrics's ``# EOF``."""
    parts = line.split(None, 3)
    if openmetrics and line.rstrip() == "# EOF":
        return True
    if len(parts) < 3 or parts[1] not in ("HELP", "TYPE", "UNIT"):
        return False  # a plain comment
    kind, name = parts[1], parts[2]
    if not _NAME_RE.match(name):
        raise ExpositionError(lineno, f"metric name {name!r} in # {kind} is invalid")
    rest = parts[3] if len(parts) > 3 else ""
    entry = out.metadata.setdefault(name, {"type": "unknown", "help": "", "unit": ""})
    if kind == "TYPE":
        if rest not in _TYPES:
            raise ExpositionError(lineno, f"unknown metric type {rest!r} for {name}")
        entry["type"] = "unknown" if rest == "untyped" else rest
    elif kind == "HELP":
        entry["help"] = _unescape(rest)
    else:
        entry["unit"] = rest
    return False


def parse_exposition(
    text: str,
    openmetrics: bool,
    now_ms: int,
    labels_cache: dict[str, dict[str, str]] | None = None,
) -> ParsedExposition:
    """Parse a whole body; raises :class:`ExpositionError` at the first bad line.

    ``labels_cache`` (series text -> labels, becomes ``.labels``) may be kept across calls so
    series seen before skip label parsing: the scraper keeps one per target (5x faster).
    A well-formed body takes the whole-body fast path; anything it does not recognise is
    parsed again line by line, which finds and names the bad line.
    """
    cache = {} if labels_cache is None else labels_cache
    gc_was_on = gc.isenabled()
    gc.disable()  # the fast path makes ~4 small objects per line: GC passes would dominate
    try:
        fast = _parse_fast(text, openmetrics, now_ms, cache)
    finally:
        if gc_was_on:
            gc.enable()
    if fast is not None:
        return fast
    return _parse_lines(text, openmetrics, now_ms, cache)


def _parse_fast(
    text: str, openmetrics: bool, now_ms: int, known: dict[str, dict[str, str]]
) -> ParsedExposition | None:
    """The body parsed with whole-body regexes and numpy, or None to take the slow path."""
    matches = _SAMPLE_LINE.findall(text)
    comments = _comment_lines(text)
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    blank = text.count("\n\n") + (1 if text.startswith("\n") else 0)
    if len(matches) + len(comments) + blank != lines:
        return None  # whitespace-only lines, exemplars or bad lines: the slow path decides
    out = ParsedExposition(labels=known)
    try:
        for line in comments:
            if _comment(line.rstrip("\r"), 0, out, openmetrics):
                if text.rstrip().endswith("# EOF") and comments.count(line) == 1:
                    continue
                return None
    except ExpositionError:
        return None
    if openmetrics and "# EOF" not in (c.rstrip() for c in comments):
        return None
    if not matches:
        return out
    keys, vals, stamps = zip(*matches, strict=True)
    joined = "\n".join(vals)
    if "_" in joined or "x" in joined or "X" in joined:
        return None  # Python's float() takes 1_0 and hex; the line parser refuses them
    for key in dict.fromkeys(keys):
        if key not in known:
            try:
                labels, end = _parse_series(key, 0)
            except ExpositionError:
                return None
            if end != len(key):
                return None
            known[key] = labels
    given = [t for t in stamps if t] if "" in stamps else list(stamps)
    joined = "\n".join(given)
    if "_" in joined or "x" in joined or "X" in joined or (not openmetrics and "." in joined):
        return None
    if openmetrics and joined.translate(_NOT_NUMBER):
        return None  # NaN / Inf timestamps: refused by the line parser (NaN was read as absent)
    if openmetrics:
        try:
            seconds = np.array([float(t) if t else math.nan for t in stamps], dtype=np.float64)
        except ValueError:
            return None
        if np.isinf(seconds).any() or bool((np.abs(seconds) >= 9.2e15).any()):
            return None  # not finite or past int64 ms: the line parser names the line
        millis = np.where(np.isnan(seconds), now_ms, np.round(seconds * 1000.0))
        out.stamps = millis.astype(np.int64).tolist()
    out.series_text = list(keys)
    try:
        out.values = list(map(float, vals))
        if not openmetrics:
            out.stamps = (
                [int(t) if t else now_ms for t in stamps]
                if "" in stamps
                else list(map(int, stamps))
            )
    except ValueError:
        return None
    if out.stamps and not (min(out.stamps) >= _MIN_MS and max(out.stamps) <= _MAX_MS):
        return None  # past int64 ms: the line parser names the line
    return out


def _comment_lines(text: str) -> list[str]:
    found = []
    pos = 0 if text.startswith("#") else text.find("\n#")
    while pos != -1:
        start = pos if pos == 0 and text.startswith("#") else pos + 1
        end = text.find("\n", start)
        found.append(text[start : end if end != -1 else len(text)])
        pos = text.find("\n#", start) if end != -1 else -1
    return found


def _parse_lines(
    text: str, openmetrics: bool, now_ms: int, labels_cache: dict[str, dict[str, str]]
) -> ParsedExposition:
    """The line-by-line parser: slower, and names the first bad line."""
    out = ParsedExposition(labels=labels_cache)
    known = out.labels
    series_text, stamps, values = out.series_text, out.stamps, out.values
    ts_scale = 1000.0 if openmetrics else 1.0
    saw_eof = False
    lineno = 0
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        if not line:
            continue
        if saw_eof:
            raise ExpositionError(lineno, "content after # EOF")
        if line[0] == "#":
            saw_eof = _comment(line, lineno, out, openmetrics)
            continue
        exemplar = ""
        if openmetrics and " # " in line:
            line, exemplar = _split_exemplar(line)
        head, sep, tail = line.rpartition("} ") if "{" in line else ("", "", "")
        if sep:
            key = head + "}"
        else:
            key, _, tail = line.partition(" ")
        if key not in known:
            labels, end = _parse_series(line, lineno)
            key = line[:end].strip()
            tail = line[end:]
            if key not in known:
                known[key] = labels
        tokens = tail.split()
        if not tokens or len(tokens) > 2:
            raise ExpositionError(lineno, "expected a value and an optional timestamp")
        value = _parse_float(tokens[0], lineno, "value")
        if len(tokens) == 2:
            ts = _parse_float(tokens[1], lineno, "timestamp")
            if not math.isfinite(ts):
                raise ExpositionError(lineno, f"timestamp {tokens[1]!r} is not finite")
            if not openmetrics and not tokens[1].lstrip("+-").isdigit():
                raise ExpositionError(lineno, f"timestamp {tokens[1]!r} must be integer ms")
            stamp = round(ts * ts_scale)
            if not _MIN_MS <= stamp <= _MAX_MS:
                raise ExpositionError(lineno, f"timestamp {tokens[1]!r} is out of range")
        else:
            stamp = now_ms
        series_text.append(key)
        stamps.append(stamp)
        values.append(value)
        if exemplar:
            out.exemplars.append((key, *_parse_exemplar(exemplar, lineno, stamp)))
    if openmetrics and not saw_eof:
        raise ExpositionError(lineno, "OpenMetrics text must end with '# EOF'")
    return out


def _split_exemplar(line: str) -> tuple[str, str]:
    """The sample and its OpenMetrics exemplar text (`` # {labels} value [ts]``, or "")."""
    idx = line.rfind(" # {")
    while idx != -1:
        before = line[:idx]
        if before.count('"') % 2 == 0:  # not inside a quoted label value
            return before, line[idx + 3 :]
        idx = line.rfind(" # {", 0, idx)
    return line, ""


def _parse_exemplar(text: str, lineno: int, sample_ms: int) -> tuple[dict[str, str], float, int]:
    """``{labels} value [timestamp]`` -> labels, value, ms (the sample's time when absent, as
    Prometheus's scrape loop does)."""
    labels, end = _parse_series("x" + text, lineno)
    del labels["__name__"]
    tokens = text[end - 1 :].split()
    if not tokens or len(tokens) > 2:
        raise ExpositionError(lineno, "exemplar: expected {labels} value [timestamp]")
    value = _parse_float(tokens[0], lineno, "exemplar value")
    if len(tokens) == 1:
        return labels, value, sample_ms
    ts = _parse_float(tokens[1], lineno, "exemplar timestamp")
    if not math.isfinite(ts):
        raise ExpositionError(lineno, f"exemplar timestamp {tokens[1]!r} is not finite")
    return labels, value, round(ts * 1000.0)


def store_parsed(
    ctx: ServerContext, parsed: ParsedExposition, cache: dict[str, int]
) -> AppendResult:
    """Append parsed samples through the store's series refs, caching text -> ref."""
    store = ctx.samples
    result = AppendResult()
    refs: dict[str, int] = {}
    reasons: list[str] = []  # a refused series gets ref -1 - (index of its reason)
    for key, labels in parsed.labels.items():
        sid = cache.get(key)
        if sid is None:
            try:
                sid = store.ref(labels)
            except LabelError as exc:
                if exc.reason not in reasons:
                    reasons.append(exc.reason)
                refs[key] = -1 - reasons.index(exc.reason)
                if len(result.errors) < 10:
                    result.errors.append(str(exc))
                continue
            if len(cache) > 1_000_000:
                cache.clear()
            cache[key] = sid
        refs[key] = sid
    sids = np.fromiter(map(refs.__getitem__, parsed.series_text), dtype=np.int64,
                       count=len(parsed.series_text))  # fmt: skip
    ok = sids >= 0
    if reasons:
        codes, counts = np.unique(sids[~ok], return_counts=True)
        for code, n in zip(codes.tolist(), counts.tolist(), strict=True):
            reason = reasons[-1 - code]
            result.rejected[reason] = result.rejected.get(reason, 0) + n
    stamps = np.array(parsed.stamps, dtype=np.int64)
    values = np.array(parsed.values, dtype=np.float64)
    store.append_refs(sids[ok], stamps[ok], values[ok], result)
    for metric, meta in parsed.metadata.items():
        store.set_metadata(metric, meta["type"], meta["help"], meta["unit"])
    return result
