"""Filter operands both databases can bind: numbers in range, strings without NUL, sane datetimes.

An operand one database cannot bind (an integer beyond 64 bits, NaN, a NUL character, a datetime
out of range) must be refused as :class:`InvalidQuery` (400) before any SQL runs, never surface
as a driver error (500). Large values that are in range still compare correctly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from store_records import EDC, asset, at, negotiation

from connector.store.database import Database
from connector.store.errors import InvalidQuery
from connector.store.query import Criterion, QuerySpec
from connector.store.repositories.assets import AssetRepository
from connector.store.repositories.negotiations import NegotiationRepository

NAME = EDC + "name"
SIZE = "http://example.org/size"
KEYWORDS = "http://www.w3.org/ns/dcat#keyword"
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


@pytest.fixture
def assets(database: Database) -> Database:
    rows: list[tuple[str, dict[str, Any]]] = [
        ("small", {NAME: "small", SIZE: 10, KEYWORDS: [1, 2]}),
        ("large", {NAME: "large", SIZE: 2**40, KEYWORDS: [2**40]}),
        ("huge", {NAME: "huge", SIZE: 1e300}),
    ]
    with database.transaction() as session:
        for n, (asset_id, properties) in enumerate(rows):
            AssetRepository(session).create(
                asset(asset_id, properties=properties, created_at=at(n))
            )
    return database


def _asset_ids(database: Database, *criteria: Criterion) -> list[str]:
    with database.read() as session:
        return [a.id for a in AssetRepository(session).query(QuerySpec(filters=criteria))]


def _refused(database: Database, criterion: Criterion) -> InvalidQuery:
    with database.read() as session, pytest.raises(InvalidQuery) as raised:
        AssetRepository(session).query(QuerySpec(filters=(criterion,)))
    with database.read() as session, pytest.raises(InvalidQuery):
        AssetRepository(session).count(QuerySpec(filters=(criterion,)))
    assert raised.value.status == 400
    return raised.value


# Numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "criterion",
    [
        Criterion(SIZE, "=", 10**20),
        Criterion(SIZE, "<", -(10**20)),
        Criterion(SIZE, ">", INT64_MAX + 1),
        Criterion(SIZE, "<", INT64_MIN - 1),
        Criterion(SIZE, "in", [1, 10**20]),
        Criterion(SIZE, "not in", [-(10**20)]),
        Criterion(KEYWORDS, "contains", 10**20),
    ],
    ids=lambda c: f"{c.op}-{c.right}",
)
def test_integer_operands_beyond_64_bits_are_refused(
    assets: Database, criterion: Criterion
) -> None:
    assert "64-bit" in _refused(assets, criterion).message


@pytest.mark.parametrize(
    "criterion",
    [
        Criterion(SIZE, "=", float("inf")),
        Criterion(SIZE, "<", float("-inf")),
        Criterion(SIZE, "!=", float("nan")),
        Criterion(SIZE, "in", [1.5, float("nan")]),
        Criterion(KEYWORDS, "contains", float("nan")),
        Criterion(KEYWORDS, "contains", float("inf")),
    ],
    ids=lambda c: f"{c.op}-{c.right}",
)
def test_non_finite_float_operands_are_refused(assets: Database, criterion: Criterion) -> None:
    assert "finite" in _refused(assets, criterion).message


def test_large_numbers_within_range_still_compare(assets: Database) -> None:
    assert _asset_ids(assets, Criterion(SIZE, "=", 2**40)) == ["large"]
    assert _asset_ids(assets, Criterion(SIZE, "in", [10, 2**40])) == ["large", "small"]
    assert _asset_ids(assets, Criterion(SIZE, ">", 2**40)) == ["huge"]
    assert _asset_ids(assets, Criterion(SIZE, "<", INT64_MAX)) == ["large", "small"]
    assert _asset_ids(assets, Criterion(SIZE, ">", INT64_MIN)) == ["huge", "large", "small"]
    assert _asset_ids(assets, Criterion(SIZE, ">=", 1e300)) == ["huge"]
    assert _asset_ids(assets, Criterion(KEYWORDS, "contains", 2**40)) == ["large"]


def test_integer_column_takes_any_64_bit_operand_and_refuses_more(database: Database) -> None:
    with database.transaction() as session:
        NegotiationRepository(session).create(negotiation("n", attempts=3))
    with database.read() as session:
        repository = NegotiationRepository(session)

        def ids(*criteria: Criterion) -> list[str]:
            return [n.id for n in repository.query(QuerySpec(filters=criteria))]

        assert ids(Criterion("attempts", "<", 2**40)) == ["n"]
        assert ids(Criterion("attempts", ">", INT64_MAX)) == []
        assert ids(Criterion("attempts", "in", [3, INT64_MIN])) == ["n"]
        assert ids(Criterion("attempts", "not in", [2**40])) == ["n"]
        for criterion in (
            Criterion("attempts", ">", 10**20),
            Criterion("attempts", "in", [1, -(10**20)]),
        ):
            with pytest.raises(InvalidQuery, match="64-bit"):
                repository.query(QuerySpec(filters=(criterion,)))


# Strings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "criterion",
    [
        Criterion("id", "=", "small\x00"),
        Criterion("id", "in", ["small", "\x00"]),
        Criterion("id", "like", "%\x00%"),
        Criterion(NAME, "=", "small\x00"),
        Criterion(NAME, "ilike", "\x00%"),
        Criterion(NAME, "not in", ["a", "b\x00"]),
        Criterion(KEYWORDS, "contains", "\x00"),
    ],
    ids=lambda c: f"{c.left.rsplit('/', 1)[-1]}-{c.op}",
)
def test_strings_with_nul_are_refused(assets: Database, criterion: Criterion) -> None:
    assert "NUL" in _refused(assets, criterion).message


@pytest.mark.parametrize(
    "criterion",
    [
        Criterion("id", "=", "\ud800"),
        Criterion(NAME, "like", "%\udfff"),
        Criterion(KEYWORDS, "contains", "x\ud83d"),
    ],
    ids=lambda c: f"{c.left.rsplit('/', 1)[-1]}-{c.op}",
)
def test_strings_with_lone_surrogates_are_refused(assets: Database, criterion: Criterion) -> None:
    assert "UTF-8" in _refused(assets, criterion).message


def test_strings_outside_the_basic_plane_are_fine(database: Database) -> None:
    with database.transaction() as session:
        AssetRepository(session).create(asset("emoji", properties={NAME: "camping 🏕️"}))
    assert _asset_ids(database, Criterion(NAME, "=", "camping 🏕️")) == ["emoji"]
    assert _asset_ids(database, Criterion(NAME, "like", "%🏕%")) == ["emoji"]


def test_property_names_with_lone_surrogates_are_unknown_fields(assets: Database) -> None:
    key = "http://example.org/\ud800"
    assert "unknown asset field" in _refused(assets, Criterion(key, "=", "x")).message
    with assets.read() as session, pytest.raises(InvalidQuery, match="unknown asset field"):
        AssetRepository(session).query(QuerySpec(sort_field=key))


# Datetimes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        10**20,
        -(10**20),
        10**400,
        10**15,  # epoch milliseconds in the year 33658
        float("nan"),
        float("inf"),
        float("-inf"),
        "0001-01-01T00:00:00+05:00",  # before year 1 in UTC
        "9999-12-31T23:00:00-05:00",  # after year 9999 in UTC
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    ],
    ids=[
        "ms-1e20",
        "ms-minus-1e20",
        "ms-1e400",
        "ms-year-33658",
        "ms-nan",
        "ms-inf",
        "ms-minus-inf",
        "iso-before-year-1",
        "iso-after-year-9999",
        "datetime-before-year-1",
    ],
)
def test_datetime_operands_out_of_range_are_refused(assets: Database, value: Any) -> None:
    for op in ("=", "<", "in"):
        right = [value] if op == "in" else value
        message = _refused(assets, Criterion("createdAt", op, right)).message
        assert "createdAt" in message
        assert "out of range" in message or "NaN" in message


def test_datetime_operands_at_the_edges_of_the_range_still_compare(assets: Database) -> None:
    earliest = datetime(1, 1, 1, tzinfo=UTC)
    latest = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert _asset_ids(assets, Criterion("createdAt", ">", earliest)) == ["huge", "large", "small"]
    assert _asset_ids(assets, Criterion("createdAt", ">", latest.isoformat())) == []
    before_0001 = int((earliest - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)
    assert _asset_ids(assets, Criterion("createdAt", "<", before_0001)) == []
