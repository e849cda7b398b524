"""``like`` and ``ilike`` patterns: the same matches on SQLite and PostgreSQL, for any letter."""

# Greek and Cyrillic letters that look like Latin ones are the point of these tests.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import re
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from store_records import EDC, asset

from connector.store.database import Database
from connector.store.patterns import like_to_glob, lower
from connector.store.query import Criterion, QuerySpec
from connector.store.repositories.assets import AssetRepository

NAME = EDC + "name"
_ALPHABET = "aA%_*?[]^-!é"


def _like(value: str, pattern: str) -> bool:
    """Case-sensitive SQL LIKE (no escape character), the reference for the GLOB translation."""
    regex = "".join(
        ".*" if char == "%" else "." if char == "_" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


@settings(max_examples=300, deadline=None)
@given(value=st.text(_ALPHABET, max_size=6), pattern=st.text(_ALPHABET, max_size=6))
def test_like_becomes_an_equivalent_case_sensitive_glob_on_sqlite(value: str, pattern: str) -> None:
    with sqlite3.connect(":memory:") as connection:
        row = connection.execute("SELECT ? GLOB ?", (value, like_to_glob(pattern))).fetchone()
    connection.close()
    assert bool(row[0]) == _like(value, pattern)


def test_lower_maps_each_character_to_one_lowercase_character() -> None:
    assert lower("ÉTÉ Ωμέγα МОСКВА Straße") == "été ωμέγα москва straße"
    # One character each, no context: a final capital sigma is σ, İ is i, ß stays ß.
    assert lower("ΟΔΟΣ") == "οδοσ"
    assert lower("İSTANBUL") == "istanbul"
    assert lower("ẞ") == "ß"
    every = (chr(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000)
    assert all(len(lower(char)) == 1 for char in every)


@pytest.fixture
def named_assets(database: Database) -> Database:
    names = {
        "fr": "Événements à Évian",
        "ascii": "Barometer",
        "el": "ΟΔΟΣ Ωμέγα",
        "ru": "МОСКВА центр",
        "de": "STRASSE",
        "tr": "İSTANBUL",
    }
    with database.transaction() as session:
        for asset_id, name in names.items():
            AssetRepository(session).create(asset(asset_id, properties={NAME: name}))
    return database


def _skip_without_unicode_folding(database: Database, request: pytest.FixtureRequest) -> None:
    """Skip on a test cluster that fell back to --no-locale (its lower() folds ASCII only)."""
    if database.backend == "postgresql":
        note = request.getfixturevalue("pg_cluster").locale_note
        if note is not None:
            pytest.skip(note)


def _ids(database: Database, criterion: Criterion) -> list[str]:
    with database.read() as session:
        return [a.id for a in AssetRepository(session).query(QuerySpec(filters=(criterion,)))]


@pytest.mark.parametrize(
    ("op", "pattern", "expected"),
    [
        ("ilike", "événements%", ["fr"]),
        ("ilike", "ÉVÉNEMENTS À ÉVIAN", ["fr"]),
        ("ilike", "%à évian", ["fr"]),
        ("ilike", "%_vian", ["fr"]),
        ("ilike", "baro%", ["ascii"]),
        ("ilike", "οδοσ ωμέγα", ["el"]),
        ("ilike", "%ΩΜΈΓΑ", ["el"]),
        ("ilike", "οδος%", []),  # ς is not σ: no folding beyond one-to-one lowercase
        ("ilike", "москва%", ["ru"]),
        ("ilike", "%ЦЕНТР", ["ru"]),
        ("ilike", "strasse", ["de"]),
        ("ilike", "straße", []),  # no multi-character folding (ß is not ss)
        ("ilike", "istanbul", ["tr"]),
        ("like", "événements%", []),
        ("like", "Événements%", ["fr"]),
        ("like", "%центр", ["ru"]),
        ("like", "%ЦЕНТР", []),
    ],
)
def test_case_folding_is_unicode_aware_and_the_same_on_both_databases(
    named_assets: Database,
    request: pytest.FixtureRequest,
    op: str,
    pattern: str,
    expected: list[str],
) -> None:
    _skip_without_unicode_folding(named_assets, request)
    assert _ids(named_assets, Criterion(NAME, op, pattern)) == expected


def test_ilike_on_a_column_folds_the_same_way(
    database: Database, request: pytest.FixtureRequest
) -> None:
    _skip_without_unicode_folding(database, request)
    with database.transaction() as session:
        AssetRepository(session).create(asset("Été-1"))
        AssetRepository(session).create(asset("ωμέγα-2"))
    assert _ids(database, Criterion("id", "ilike", "ÉTÉ%")) == ["Été-1"]
    assert _ids(database, Criterion("id", "ilike", "ΩΜΈΓΑ-_")) == ["ωμέγα-2"]
    assert _ids(database, Criterion("id", "like", "ÉTÉ%")) == []


@pytest.mark.postgres
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_postgres_lower_and_the_sqlite_function_agree_on_every_character(
    database: Database, request: pytest.FixtureRequest
) -> None:
    """PostgreSQL's lower() under the cluster's UTF-8 locale and the Python fold SQLite uses
    map every code point alike (one statement over all of them). Should a C library or Python
    with another Unicode version ever disagree, the failure lists the letters concerned."""
    _skip_without_unicode_folding(database, request)
    with database.read() as session:
        changed: dict[int, str] = dict(
            session.execute(
                text(
                    "SELECT code, lower(chr(code)) FROM generate_series(1, 1114111) AS code "
                    "WHERE (code < 55296 OR code > 57343) AND lower(chr(code)) <> chr(code)"
                )
            ).all()
        )
    differences = [
        f"U+{code:04X}: Python {lower(chr(code))!r}, PostgreSQL {changed.get(code, chr(code))!r}"
        for code in range(1, 0x110000)
        if not 0xD800 <= code <= 0xDFFF and lower(chr(code)) != changed.get(code, chr(code))
    ]
    assert len(changed) > 1000
    assert differences == []
