"""The statement sanitiser shared by the Django and SQLAlchemy integrations: values go,
structure and bind placeholders stay."""

from __future__ import annotations

import pytest

from tripod.sdk.integrations._sql import operation_name, sanitize, system_of


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("SELECT * FROM t WHERE a = 'x'", "SELECT * FROM t WHERE a = ?"),
        ("SELECT 1", "SELECT ?"),
        # escaped quotes: doubled (SQL) and backslashed (MySQL, PostgreSQL E'')
        ("SELECT * FROM t WHERE a = 'it''s' AND b = 2", "SELECT * FROM t WHERE a = ? AND b = ?"),
        ("SELECT * FROM t WHERE a = E'it\\'s' OR b = 'c'", "SELECT * FROM t WHERE a = ? OR b = ?"),
        # negative numbers are one literal; a subtraction keeps its operator
        ("SELECT a FROM t WHERE b = -5 AND c > -2.5e3", "SELECT a FROM t WHERE b = ? AND c > ?"),
        ("SELECT a - 5, a-1 FROM t", "SELECT a - ?, a-? FROM t"),
        ("SELECT * FROM t LIMIT -1 OFFSET 10", "SELECT * FROM t LIMIT ? OFFSET ?"),
        # hex and bit literals
        (
            "SELECT * FROM t WHERE h = 0x1F AND x = X'DEAD' AND b = B'0101'",
            "SELECT * FROM t WHERE h = ? AND x = ? AND b = ?",
        ),
        # an IN list of values folds to one; of placeholders stays as written
        ("SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (?)"),
        ("SELECT * FROM t WHERE s in ('a','b')", "SELECT * FROM t WHERE s in (?)"),
        ("SELECT * FROM t WHERE id IN (?, ?, ?)", "SELECT * FROM t WHERE id IN (?, ?, ?)"),
        ("SELECT * FROM t WHERE id IN (%s, %s)", "SELECT * FROM t WHERE id IN (%s, %s)"),
        # comments go (they can hold values too)
        ("SELECT a -- secret 42\nFROM t", "SELECT a FROM t"),
        ("/* user=bob */ SELECT a FROM t /* 7 */ WHERE b = 1", "SELECT a FROM t WHERE b = ?"),
        # placeholders of every paramstyle are kept
        ("SELECT * FROM t WHERE a = ? AND b = ?2", "SELECT * FROM t WHERE a = ? AND b = ?2"),
        ("UPDATE t SET a = %s WHERE id = %(id)s", "UPDATE t SET a = %s WHERE id = %(id)s"),
        ("DELETE FROM t WHERE a = $1 AND b = $2", "DELETE FROM t WHERE a = $1 AND b = $2"),
        (
            "SELECT * FROM t WHERE a = :name AND b = @p1",
            "SELECT * FROM t WHERE a = :name AND b = @p1",
        ),
        # casts are not placeholders; identifiers with digits are not numbers
        (
            "SELECT a::int, t1.c2 FROM t1 WHERE d = '5'::text",
            "SELECT a::int, t1.c2 FROM t1 WHERE d = ?::text",
        ),
        # quoted identifiers stay; dollar-quoted strings go
        (
            'INSERT INTO "order" ("id", `x`) VALUES (7, $$a\'b$$), (8, $t$z$t$)',
            'INSERT INTO "order" ("id", `x`) VALUES (?, ?), (?, ?)',
        ),
        # an unterminated string hides everything after it
        ("SELECT * FROM t WHERE a = 'oops AND b = 3", "SELECT * FROM t WHERE a = ?"),
        ("SELECT ARRAY['a', 'b']", "SELECT ARRAY[?, ?]"),
        ("  SELECT\n\ta\n FROM   t  ", "SELECT a FROM t"),
    ],
)
def test_sanitize(statement: str, expected: str) -> None:
    assert sanitize(statement) == expected


def test_no_literal_survives() -> None:
    secret = "SELECT * FROM users WHERE email = 'bob@example.com' AND pin = 4242 -- 9999"
    text = sanitize(secret)
    for leaked in ("bob", "4242", "9999"):
        assert leaked not in text


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("select 1", "SELECT"),
        ("  /* hint */ INSERT INTO t VALUES (1)", "INSERT"),
        ("(SELECT 1) UNION (SELECT 2)", "SELECT"),
        ("-- c\nWITH x AS (SELECT 1) SELECT * FROM x", "WITH"),
        ("", None),
        ("'x'", None),
    ],
)
def test_operation_name(statement: str, expected: str | None) -> None:
    assert operation_name(statement) == expected


def test_system_names_follow_semconv() -> None:
    assert system_of("postgresql") == "postgresql"
    assert system_of("sqlite") == "sqlite"
    assert system_of("MySQL") == "mysql"
    assert system_of("") == "other_sql"
