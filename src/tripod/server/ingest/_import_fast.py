"""The fast path of ``POST /api/v1/import/prometheus``, for bodies in the usual shape.

Most import bodies are ``name{labels} value timestamp`` lines separated by single spaces, the
same series over and over. This path never looks at a line on its own:

1. comment lines are cut out (found by one numpy pass over ``#`` bytes), CRLF and blank lines
   removed with ``bytes.replace``;
2. numpy checks that every control character or space of the body sits where the shape wants it
   (``space, space, newline`` per line, or ``space, newline`` when no line has a timestamp), so
   ``bytes.split()`` (in C) gives exactly three (or two) tokens per line. When it does not (a
   space in a label value, a tab in the series text), numpy finds each line's last one or two
   separators, which must be spaces, and turns them into newlines in a copy: one
   ``split(b"\\n")`` then gives the tokens;
3. the series text of each line (its bytes before the value) keys a memo of store refs: a series
   seen before costs one dict lookup, and only new ones are parsed (exactly, as a whole) into
   labels;
4. values are converted by numpy after a check that they use only the characters of the text
   format's numbers (or are one of its ``NaN``/``Inf`` spellings); timestamps of one width are
   read as digits by numpy.

Anything else (an exemplar, trailing whitespace, a bad line, a metric name or number the checks
do not accept) returns ``None``: the caller then takes the general parser, which gives the same
samples for a good body and names the line of a bad one. Nothing is stored before the whole body
has been checked.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tripod.server.ingest.import_text import (
    ExpositionError,
    ParsedExposition,
    _comment,
    _parse_series,
)
from tripod.server.store.model import AppendResult, LabelError, SampleStore

__all__ = ["FastBatch", "SeriesMemo", "parse_fast", "store_fast"]

_NUMBER = b"0123456789.eE+-"  # every character of a finite value of the text format
_SPECIAL = frozenset(
    sign + word
    for sign in (b"", b"+", b"-")
    for word in (b"Inf", b"inf", b"Infinity", b"infinity", b"NaN")
)  # the line parser's [+-]?([Ii]nf|[Ii]nfinity|NaN)
_SPACE, _NEWLINE = 32, 10


@dataclass
class FastBatch:
    """One body's samples in columns, before anything is stored."""

    keys: list[bytes]  # the series text of each sample, as sent
    stamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    #: store refs of the samples when every series was in the memo, else None
    sids: npt.NDArray[np.int64] | None = None
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)


class SeriesMemo:
    """Series text (bytes) -> store ref, kept across requests; cleared when it grows past
    ``max_series`` (a body of new series then costs its label parsing again)."""

    def __init__(self, max_series: int = 1_000_000) -> None:
        self.max_series = max_series
        self.refs: dict[bytes, int] = {}


def _cut_comments(raw: bytes) -> tuple[bytes, list[bytes]]:
    """The body without its ``#`` lines, and those lines (a ``#`` elsewhere costs one numpy
    pass; searching for ``\\n#`` with ``bytes.find`` took 85 ns per line)."""
    if b"#" not in raw:
        return raw, []
    buf = np.frombuffer(raw, dtype=np.uint8)
    hashes = np.flatnonzero(buf == ord("#"))
    starts = hashes[(hashes == 0) | (buf[hashes - 1] == _NEWLINE)].tolist()
    if not starts:
        return raw, []
    pieces: list[bytes] = []
    comments: list[bytes] = []
    pos = 0
    for start in starts:
        pieces.append(raw[pos:start])
        end = raw.find(b"\n", start)
        end = len(raw) if end == -1 else end
        comments.append(raw[start:end])
        pos = end + 1
    pieces.append(raw[pos:])
    return b"".join(pieces), comments


def _layout(body: bytes) -> tuple[int, int] | None:
    """(lines, tokens per line) when every line of ``body`` (ending in a newline) is two or
    three tokens split by single spaces, the same count on every line; else None."""
    buf = np.frombuffer(body, dtype=np.uint8)
    seps = buf[np.flatnonzero(buf <= _SPACE)]  # spaces, newlines and any other control byte
    for per_line in (3, 2):
        lines, rest = divmod(len(seps), per_line)
        if rest == 0 and lines:
            grid = seps.reshape(lines, per_line)
            if bool((grid[:, -1] == _NEWLINE).all()) and bool((grid[:, :-1] == _SPACE).all()):
                return lines, per_line
    return None


def _values(tokens: list[bytes]) -> npt.NDArray[np.float64] | None:
    """The value tokens as floats when every one is a number the line parser accepts."""
    if b"".join(tokens).translate(None, _NUMBER):  # letters: NaN, Inf, or not a number
        odd = {t for t in set(tokens) if t.translate(None, _NUMBER)}
        if not odd <= _SPECIAL:
            return None
    try:  # numpy's conversion of bytes: float()'s results bit for bit, 1/3 faster than map
        return np.array(tokens, dtype=np.float64)
    except ValueError:  # "1e", "+-1", "..": left to the line parser, which names the line
        return None


def _stamps_ms(tokens: list[bytes]) -> npt.NDArray[np.int64] | None:
    """Integer millisecond timestamps (text format)."""
    joined = b" ".join(tokens)
    width = len(tokens[0])
    if 0 < width <= 18 and len(joined) == len(tokens) * (width + 1) - 1:
        grid = np.frombuffer(joined + b" ", dtype=np.uint8).reshape(len(tokens), width + 1)
        digits = grid[:, :width]
        if bool(((digits >= 48) & (digits <= 57)).all()):  # one width, digits only: numpy reads
            out = digits[:, 0].astype(np.int64) - 48
            for col in range(1, width):
                out *= 10
                out += digits[:, col]
                out -= 48
            return out
    if joined.translate(None, b"0123456789+- "):
        return None  # a fraction, exponent or word: the line parser says "integer ms"
    try:
        return np.array(list(map(int, tokens)), dtype=np.int64)
    except (ValueError, OverflowError):
        return None


def _stamps_seconds(tokens: list[bytes]) -> npt.NDArray[np.int64] | None:
    """OpenMetrics timestamps (seconds, maybe fractional) -> ms, rounded as the line parser."""
    if b"".join(tokens).translate(None, _NUMBER):
        return None  # NaN / Inf are not timestamps
    try:
        seconds = np.fromiter(map(float, tokens), dtype=np.float64, count=len(tokens))
    except ValueError:
        return None
    with np.errstate(over="ignore", invalid="ignore"):  # 1e306 s: refused just below
        millis = np.round(seconds * 1000.0)
    if not bool(np.isfinite(millis).all()) or bool((np.abs(millis) >= 2.0**63).any()):
        return None
    return millis.astype(np.int64)


def parse_fast(raw: bytes, openmetrics: bool, now_ms: int, memo: SeriesMemo) -> FastBatch | None:
    """The samples of ``raw`` when it has the usual shape, else None (nothing is stored here)."""
    body = raw.replace(b"\r\n", b"\n") if b"\r" in raw else raw
    if openmetrics and not _eof_is_last(body):
        return None  # no # EOF, or something after it: the line parser says what
    body, comments = _cut_comments(body)
    meta = ParsedExposition()
    eofs = 0
    try:
        for line in comments:
            eofs += _comment(line.decode("utf-8").rstrip("\r"), 0, meta, openmetrics)
    except (ExpositionError, UnicodeDecodeError):
        return None
    if openmetrics and eofs != 1:
        return None
    if not body.endswith(b"\n"):
        body += b"\n"
    layout = _layout(body)
    if layout is None and _has_blank_lines(body):
        while b"\n\n" in body:
            body = body.replace(b"\n\n", b"\n")
        body = body.lstrip(b"\n")
        layout = None if not body else _layout(body)
    if not body.strip(b"\n"):
        return FastBatch([], np.zeros(0, np.int64), np.zeros(0, np.float64), None, meta.metadata)
    gc_was_on = gc.isenabled()
    gc.disable()  # 2-3 bytes objects per line: collector passes would cost more than the parse
    try:
        if layout is not None:
            lines, per_line = layout
            tokens = body.split()
            if len(tokens) != per_line * lines:
                return None
            columns = [tokens[i::per_line] for i in range(per_line)]
            del tokens
            return _batch(columns, openmetrics, now_ms, memo, meta.metadata)
        # Spaces inside label values, tabs, runs of spaces: the value and timestamp are the
        # line's last tokens, so only its last one or two separators need to be spaces; those
        # become newlines and one split gives the tokens (the series text is checked whole).
        for per_line in (3, 2):
            split = _split_right(body, per_line)
            if split is not None:
                batch = _batch(split, openmetrics, now_ms, memo, meta.metadata)
                if batch is not None:
                    return batch
        return None
    finally:
        if gc_was_on:
            gc.enable()


def _has_blank_lines(body: bytes) -> bool:
    """Whether two newlines touch (numpy: ``b"\\n\\n" in body`` costs 85 ns per line)."""
    ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == _NEWLINE)
    return bool(len(ends) and (ends[0] == 0 or (np.diff(ends) == 1).any()))


def _split_right(body: bytes, per_line: int) -> list[list[bytes]] | None:
    """Series text, value and (``per_line`` 3) timestamp of each line, cutting at the line's
    last ``per_line - 1`` separators, which must be single spaces; None when one is not."""
    buf = np.frombuffer(body, dtype=np.uint8)
    where = np.flatnonzero(buf <= _SPACE)
    kinds = buf[where]
    ends = np.flatnonzero(kinds == _NEWLINE)  # index in ``where`` of each line's newline
    starts = np.empty_like(ends)
    starts[0] = -1
    starts[1:] = ends[:-1]
    if bool((ends - starts - 1 < per_line - 1).any()):
        return None  # a line with too few separators
    cuts = [ends - k for k in range(1, per_line)]
    if any(bool((kinds[cut] != _SPACE).any()) for cut in cuts):
        return None
    edited = bytearray(body)
    view = np.frombuffer(edited, dtype=np.uint8)
    for cut in cuts:
        view[where[cut]] = _NEWLINE
    del view
    tokens = bytes(edited).split(b"\n")
    tokens.pop()  # after the body's final newline
    if len(tokens) != per_line * len(ends):
        return None
    return [tokens[i::per_line] for i in range(per_line)]


def _batch(
    columns: list[list[bytes]],
    openmetrics: bool,
    now_ms: int,
    memo: SeriesMemo,
    metadata: dict[str, dict[str, str]],
) -> FastBatch | None:
    """Series text, values and maybe timestamps (one list each) -> a batch, or None when a
    token or series text is not one the line parser accepts."""
    keys = columns[0]
    values = _values(columns[1])
    if len(columns) == 2:
        stamps: npt.NDArray[np.int64] | None = np.full(len(keys), now_ms, dtype=np.int64)
    elif openmetrics:
        stamps = _stamps_seconds(columns[2])
    else:
        stamps = _stamps_ms(columns[2])
    if values is None or stamps is None:
        return None
    try:
        sids = np.fromiter(map(memo.refs.__getitem__, keys), dtype=np.int64, count=len(keys))
        return FastBatch(keys, stamps, values, sids, metadata)
    except KeyError:
        pass
    for key in dict.fromkeys(keys):  # some series are new: check their text now
        if key not in memo.refs and _labels(key) is None:
            return None
    return FastBatch(keys, stamps, values, None, metadata)


def _labels(key: bytes) -> dict[str, str] | None:
    """The labels of series text ``key``, or None when it is not exactly one series."""
    try:
        text = key.decode("utf-8")
        labels, end = _parse_series(text, 0)
    except (ExpositionError, UnicodeDecodeError):
        return None
    return labels if end == len(text) else None


def _eof_is_last(body: bytes) -> bool:
    """OpenMetrics: ``# EOF`` is the body's last line (blank lines after it aside)."""
    tail = body.rstrip(b"\n")
    end = tail.rfind(b"\n") + 1
    return tail[end:].decode("utf-8", "replace").rstrip() == "# EOF"


def store_fast(store: SampleStore, batch: FastBatch, memo: SeriesMemo) -> AppendResult:
    """Make the batch's new series and append its samples (series the store refuses are
    counted by reason, the rest kept, as :func:`import_text.store_parsed` does)."""
    result = AppendResult()
    stamps, values, sids = batch.stamps, batch.values, batch.sids
    if sids is None:
        refs = memo.refs
        reasons: list[str] = []
        local: dict[bytes, int] = {}
        for key in dict.fromkeys(batch.keys):
            sid = refs.get(key)
            if sid is None:
                labels = _labels(key)
                assert labels is not None  # checked by parse_fast
                try:
                    sid = store.ref(labels)
                except LabelError as exc:
                    if exc.reason not in reasons:
                        reasons.append(exc.reason)
                    sid = -1 - reasons.index(exc.reason)
                    if len(result.errors) < 10:
                        result.errors.append(str(exc))
                else:
                    if len(refs) >= memo.max_series:
                        refs.clear()
                    refs[key] = sid
            local[key] = sid
        sids = np.fromiter(map(local.__getitem__, batch.keys), dtype=np.int64,
                           count=len(batch.keys))  # fmt: skip
        if reasons:
            ok = sids >= 0
            codes, counts = np.unique(sids[~ok], return_counts=True)
            for code, count in zip(codes.tolist(), counts.tolist(), strict=True):
                reason = reasons[-1 - code]
                result.rejected[reason] = result.rejected.get(reason, 0) + count
            sids, stamps, values = sids[ok], stamps[ok], values[ok]
    store.append_refs(sids, stamps, values, result)
    for metric, entry in batch.metadata.items():
        store.set_metadata(metric, entry["type"], entry["help"], entry["unit"])
    return result
