"""The import fast path (`_import_fast`) against the general parser, on tricky text.

Whatever the fast path accepts must give the samples the general parser gives (labels,
timestamps, values bit for bit, metadata); whatever the general parser refuses the fast path must
leave to it (``None``), so the 400 still names the line.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tripod.server.ingest import ExpositionError, parse_exposition
from tripod.server.ingest._import_fast import (
    SeriesMemo,
    _labels,
    _values,
    parse_fast,
    store_fast,
)
from tripod.server.ingest.import_text import store_parsed
from tripod.server.store import Database, DuckSampleStore, Matcher

NOW = 1_700_000_123_456
OM_EOF = "# EOF\n"


def general(body: bytes, openmetrics: bool) -> Any:
    """(labels, ms, repr(value)) per sample and the metadata, or "error"."""
    try:
        parsed = parse_exposition(body.decode("utf-8"), openmetrics, NOW)
    except (ExpositionError, ValueError):
        return "error"
    samples = [
        (parsed.labels[key], ms, repr(v))
        for key, ms, v in zip(parsed.series_text, parsed.stamps, parsed.values, strict=True)
    ]
    return samples, parsed.metadata


def fast(body: bytes, openmetrics: bool, memo: SeriesMemo | None = None) -> Any:
    batch = parse_fast(body, openmetrics, NOW, memo or SeriesMemo())
    if batch is None:
        return None
    samples = [
        (_labels(key), ms, repr(v))
        for key, ms, v in zip(batch.keys, batch.stamps.tolist(), batch.values.tolist(), strict=True)
    ]
    return samples, batch.metadata


# Bodies the fast path must take, and agree on.
TAKEN = [
    'a{x="1",y="2"} 1 1700000000000\na{x="1",y="2"} 2 1700000015000\n',
    'esc{x="1\\n2",y="\\\\",z="q\\"q"} 3 5\n',  # escapes in label values
    "v 1 10\nv NaN 20\nv +Inf 30\nv -Inf 40\nv Inf 50\nv -infinity 60\nv 1.5e-3 70\nv .5 80\n",
    "v -0 1\nv -0.0 2\nv +7 3\nv 1. 4\nv 1E+5 5\nv 00012 6\n",
    "# HELP m Some help \\\\ with \\n escapes.\n# TYPE m counter\nm_total 4 1\n# plain\n",
    "\n\nm 1 1\n\n\nm 2 2\n\n",  # blank lines
    'crlf{a="b"} 1 1\r\ncrlf{a="b"} 2 2\r\n# TYPE crlf gauge\r\n',
    'dup{a="1"} 1 5\ndup{a="1"} 1 5\ndup{a="1"} 2 5\n',  # duplicated series and samples
    "ts 1 -5\nts 2 +6\nts 3 7\nts 4 123456789012345\n",  # signs, widths
    'nots 1\nnots 2\nnots{a="1"} 3\n',  # no timestamps at all
    'empty{a=""} 1 1\nempty{} 2 2\ntrailing{a="1",} 3 3\n',
    'uni{a="żółw_✓"} 1 1\n',
    "no_newline_at_end 1 2",
    "# EOF\nm 1 1\n",  # "# EOF" is a plain comment in the text format
    'colon:name{__x__="y"} 1 1\n_under 2 2\n',
    # per-line split from the right (the layout check failed):
    'sp{a="b c"} 1 1\nsp{a="b c"} 2 2\nplain 3 3\n',  # a space in a label value
    'sp{a="b c", d="e"} 1\n',  # spaces and no timestamp
    "two  1 1\n",  # a run of spaces before the value
    "  lead 1 1\n",
    'tab\t{a="1"} 1 1\n',
    "",
    "# only a comment\n",
]

# Bodies the fast path must leave to the general parser (well-formed or not).
LEFT = [
    "tab\t1\t1\n",
    "trail 1 1 \n",
    "x 1  1\n",
    'sp{a="b c"} 1 1\nsp{a="b c"} 2\n',  # one line with a timestamp, one without
    'x{a="1"b="2"} 1\n',
    "x 1_0\n",
    "x 0x10\n",
    "x nan\n",  # the line parser's spelling is NaN
    "x 1 1.5\n",
    "x 1 1e3\n",
    "x one 1\n",
    "x 1 2 3\n",
    "x\n",
    "1x 1 1\n",
    'x{a="1",a="2"} 1 1\n',
    "mixed 1 1\nmixed 2\n",  # some lines with a timestamp, some without
    "  \nx 1\n",  # a whitespace-only line
    "# TYPE x bogus\nx 1 1\n",
    "x 1 99999999999999999999\n",
    b'bad{a="\xff"} 1 1\n'.decode("latin-1"),
    'x{a="1"} {b} 1\n',
]

OM_TAKEN = [
    (
        '# TYPE h histogram\n# UNIT h seconds\nh_bucket{le="0.1"} 1 1700000000.5\n'
        "h_count 2 1700000000.001\nh_sum 0.3 1700000000\n# EOF\n"
    ),
    "m 1 1.0005\nm 2 1.0015\nm 3 -2.5\n# EOF\n\n",  # rounding of half milliseconds
    "m 1\n# EOF\n",
]

OM_LEFT = [
    "m 1 1\n",  # no # EOF
    "m 1 1\n# EOF\nm 2 2\n",
    "m 1 1\n# EOF\n# EOF\n",
    'm 1 1 # {trace_id="abc"} 0.5 1\n# EOF\n',  # an exemplar
    "m 1 NaN\n# EOF\n",
    "m 1 Inf\n# EOF\n",
    "m 1 1\n# EOF\n  \n",
]


@pytest.mark.parametrize("body", TAKEN)
def test_fast_path_takes_the_usual_shapes_and_agrees(body: str) -> None:
    raw = body.encode()
    expected = general(raw, False)
    assert expected != "error", body
    assert fast(raw, False) == expected


@pytest.mark.parametrize("body", LEFT)
def test_fast_path_leaves_other_bodies_to_the_line_parser(body: str) -> None:
    raw = body.encode("latin-1") if "\xff" in body else body.encode()
    assert fast(raw, False) is None


@pytest.mark.parametrize("body", OM_TAKEN)
def test_openmetrics_fast_path_agrees(body: str) -> None:
    expected = general(body.encode(), True)
    assert expected != "error", body
    assert fast(body.encode(), True) == expected


@pytest.mark.parametrize("body", OM_LEFT)
def test_openmetrics_fast_path_leaves_the_rest(body: str) -> None:
    assert fast(body.encode(), True) is None


def test_values_convert_bit_for_bit_as_float_does() -> None:
    rng = random.Random(7)
    tokens = [
        "".join(rng.choice("0123456789.eE+-") for _ in range(rng.randint(1, 9))).encode()
        for _ in range(20_000)
    ] + [repr(rng.uniform(-1e9, 1e9)).encode() for _ in range(20_000)]
    good = []
    for token in tokens:
        try:
            good.append((token, float(token)))
        except ValueError:
            assert _values([token]) is None, token
    converted = _values([t for t, _ in good])
    assert converted is not None
    expected = np.array([v for _, v in good], dtype=np.float64)
    assert converted.view(np.uint64).tolist() == expected.view(np.uint64).tolist()


def test_series_seen_before_skip_parsing_and_still_agree() -> None:
    memo = SeriesMemo()
    memo.refs[b'a{x="1"}'] = 7
    body = b'a{x="1"} 1 1\na{x="1"} 2 2\n'
    batch = parse_fast(body, False, NOW, memo)
    assert batch is not None
    assert batch.sids is not None
    assert batch.sids.tolist() == [7, 7]
    memo.refs[b"bad{"] = 8  # only whole series text is ever memoised, but a lookup decides
    assert parse_fast(b'a{x="1"} 1 1\nb 1 1\n', False, NOW, memo) is not None


FRAGMENTS = [
    "m", "m_total", "a:b", "x", 'x{a="1"}', 'x{a="1",b="2"}', 'x{b="2",a="1"}', 'e{a="\\\\"}',
    'e{a="\\"q\\""}', 'e{a="\\n"}', 'e{a="} 1"}', "x{}", 'x{a=""}', 'bad{a="1"', "9x", 'x{a=1}',
    " 1", " -2.5", " NaN", " +Inf", " -Inf", " 1e3", " 1_0", " .", " 0x1", " nan", " 5", " 17",
    " 1700000000000", " -3", " 1.5", "\n", "\n", "\n", "\r\n", "\n\n", "\n# HELP m hi\n",
    "\n# TYPE m gauge\n", "\n# TYPE m nope\n", "\n#\n", "  ", "\t", " ",
]  # fmt: skip


def test_random_bodies_agree_with_the_line_parser() -> None:
    """Bodies spliced from fragments: every body the fast path takes must agree."""
    rng = random.Random(1307)
    taken = 0
    for _ in range(4000):
        parts = []
        for _ in range(rng.randint(1, 6)):
            parts += [rng.choice(FRAGMENTS[:16]), rng.choice(FRAGMENTS[16:31])]
            if rng.random() < 0.6:
                parts.append(rng.choice(FRAGMENTS[25:31]))
            parts.append(rng.choice(FRAGMENTS[31:]))
        body = "".join(parts).encode()
        for openmetrics in (False, True):
            text = body + (b"# EOF\n" if openmetrics and rng.random() < 0.8 else b"")
            got = fast(text, openmetrics)
            if got is not None:
                taken += 1
                assert got == general(text, openmetrics), text
    assert taken > 300  # the property was exercised on bodies the fast path takes


def stored(store: DuckSampleStore) -> list[tuple[dict[str, str], list[int], list[float]]]:
    return sorted(
        (
            (s.labels, s.timestamps.tolist(), s.values.tolist())
            for s in store.select([Matcher("__name__", "=~", ".+")], -(2**62), 2**62)
        ),
        key=repr,
    )


def test_store_fast_keeps_what_store_parsed_keeps(tmp_path: Path) -> None:
    """Two stores, one per path, the same bodies (new series, known series, a refused one)."""
    bodies = [
        b'# TYPE r counter\nr{a="1"} 1 1000\nr{a="2"} 2 1000\nr{a="1",} 3 2000\n',
        b'r{a="1"} 4 3000\nr{a="2"} 5 2000\nr{a="3"} 6 3000\n',  # one out of order
        b'r{a="1"} 7 4000\nr{a=""} 8 4000\nbig{a="' + b"v" * 5000 + b'"} 1 1\n',  # refused
    ]
    old_db, new_db = Database(tmp_path / "old"), Database(tmp_path / "new")
    try:
        old_store, new_store = DuckSampleStore(old_db), DuckSampleStore(new_db)
        cache: dict[str, int] = {}
        memo = SeriesMemo()

        class Ctx:
            samples = old_store

        for body in bodies:
            old = store_parsed(Ctx, parse_exposition(body.decode(), False, NOW), cache)  # type: ignore[arg-type]
            batch = parse_fast(body, False, NOW, memo)
            assert batch is not None
            new = store_fast(new_store, batch, memo)
            assert (new.accepted, dict(new.rejected), new.errors) == (
                old.accepted, dict(old.rejected), old.errors
            )  # fmt: skip
        assert stored(new_store) == stored(old_store)
        assert new_store.metadata() == old_store.metadata()
        again = parse_fast(bodies[0], False, NOW, memo)  # every series known: refs at once
        assert again is not None
        assert again.sids is not None
        known = [memo.refs[b'r{a="1"}'], memo.refs[b'r{a="2"}'], memo.refs[b'r{a="1",}']]
        assert again.sids.tolist() == known
    finally:
        old_db.close()
        new_db.close()
