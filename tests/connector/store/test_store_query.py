"""QuerySpec → SQL: validation, operators, JSON property filters and sorting, on both databases."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from store_records import DCT, EDC, T0, asset, at

from connector.store.database import Database
from connector.store.errors import InvalidQuery
from connector.store.query import Criterion, QuerySpec
from connector.store.repositories.assets import AssetRepository

NAME = EDC + "name"
TITLE = DCT + "title"
SIZE = "http://example.org/size"
OPEN = "http://example.org/open"
KEYWORDS = "http://www.w3.org/ns/dcat#keyword"


# QuerySpec and Criterion on their own -----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"sort_order": "UP"}, {"limit": True}],
)
def test_query_spec_refuses_out_of_range_paging(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidQuery):
        QuerySpec(**kwargs)


def test_query_spec_accepts_the_bounds_and_defaults() -> None:
    assert QuerySpec(limit=1000, offset=0).limit == 1000
    assert QuerySpec() == QuerySpec(offset=0, limit=50, sort_field=None, sort_order="ASC")


def test_operators_are_case_insensitive_and_unknown_ones_refused() -> None:
    assert Criterion("id", " NOT IN ", ["a"]).op == "not in"
    assert Criterion("id", "LIKE", "a%").op == "like"
    with pytest.raises(InvalidQuery, match="unsupported operator"):
        Criterion("id", "~=", "a")


# Against a database ----------------------------------------------------------------------------


@pytest.fixture
def repository_with_assets(database: Database) -> Database:
    rows: list[tuple[str, dict[str, Any]]] = [
        ("a1", {NAME: "Barometer", TITLE: "Bookings", SIZE: 10, OPEN: True, KEYWORDS: ["camp"]}),
        ("a2", {NAME: "barometer", TITLE: "Nights", SIZE: 9.5, OPEN: False, KEYWORDS: ["x", "y"]}),
        ("a3", {NAME: "Dashboard", SIZE: "10", KEYWORDS: "camp"}),
        ("a4", {NAME: "Presence_data", SIZE: 200, KEYWORDS: ["camp", "sea"]}),
        ("a5", {TITLE: "100%", NAME: None, "http://example.org/path": "C:\\data\\x_y"}),
    ]
    with database.transaction() as session:
        for n, (asset_id, properties) in enumerate(rows):
            AssetRepository(session).create(
                asset(asset_id, properties=properties, created_at=at(n))
            )
    return database


def _ids(database: Database, *criteria: Criterion, **spec: Any) -> list[str]:
    with database.read() as session:
        found = AssetRepository(session).query(QuerySpec(filters=criteria, **spec))
    return [record.id for record in found]


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        (Criterion("id", "=", "a2"), ["a2"]),
        (Criterion(EDC + "id", "in", ["a4", "a1", "zz"]), ["a1", "a4"]),
        (Criterion("id", "not in", ["a1", "a2"]), ["a3", "a4", "a5"]),
        (Criterion("id", "!=", "a1"), ["a2", "a3", "a4", "a5"]),
        (Criterion("id", "like", "a_"), ["a1", "a2", "a3", "a4", "a5"]),
        (Criterion(NAME, "=", "Barometer"), ["a1"]),
        (Criterion(NAME, "!=", "Barometer"), ["a2", "a3", "a4"]),
        (Criterion(NAME, "like", "B%"), ["a1"]),
        (Criterion(NAME, "like", "%_data"), ["a4"]),
        (Criterion(NAME, "like", "%e_data"), ["a4"]),
        (Criterion(NAME, "ilike", "bARO%"), ["a1", "a2"]),
        (Criterion(NAME, "in", ["Dashboard", "barometer"]), ["a2", "a3"]),
        (Criterion(NAME, "not in", ["Dashboard"]), ["a1", "a2", "a4"]),
        (Criterion(TITLE, "like", "100%"), ["a5"]),
        (Criterion(TITLE, "like", "1_0%"), ["a5"]),
        (Criterion("http://example.org/path", "like", "C:\\data\\x%"), ["a5"]),
        (Criterion("http://example.org/path", "ilike", "c:\\DATA\\%"), ["a5"]),
        (Criterion(SIZE, "=", 10), ["a1"]),
        (Criterion(SIZE, "=", "10"), ["a3"]),
        (Criterion(SIZE, ">", 9.5), ["a1", "a4"]),
        (Criterion(SIZE, "<=", 10), ["a1", "a2"]),
        (Criterion(SIZE, "in", [9.5, 200]), ["a2", "a4"]),
        (Criterion(OPEN, "=", True), ["a1"]),
        (Criterion(OPEN, "!=", True), ["a2"]),
        (Criterion(KEYWORDS, "contains", "camp"), ["a1", "a4"]),
        (Criterion(KEYWORDS, "contains", "y"), ["a2"]),
        (Criterion(KEYWORDS, "contains", 1), []),
        (Criterion("createdAt", ">=", at(3)), ["a4", "a5"]),
        (Criterion("createdAt", "<", int(at(1).timestamp() * 1000)), ["a1"]),
        (Criterion("createdAt", "=", at(2).astimezone(timezone(timedelta(hours=2)))), ["a3"]),
        (Criterion("createdAt", "<=", (T0 + timedelta(seconds=1)).isoformat()), ["a1", "a2"]),
        (Criterion("http://example.org/missing", "!=", "x"), []),
    ],
    ids=lambda value: value.op if isinstance(value, Criterion) else None,
)
def test_filters(
    repository_with_assets: Database, criterion: Criterion, expected: list[str]
) -> None:
    assert _ids(repository_with_assets, criterion) == expected


def test_filters_are_anded(repository_with_assets: Database) -> None:
    both = (Criterion(NAME, "ilike", "baro%"), Criterion(OPEN, "=", False))
    assert _ids(repository_with_assets, *both) == ["a2"]


def test_sort_by_property_puts_numbers_then_strings_then_missing(
    repository_with_assets: Database,
) -> None:
    assert _ids(repository_with_assets, sort_field=SIZE) == ["a2", "a1", "a4", "a3", "a5"]
    assert _ids(repository_with_assets, sort_field=SIZE, sort_order="DESC") == [
        "a4",
        "a1",
        "a2",
        "a3",
        "a5",
    ]


def test_sort_by_string_property_and_paging_is_deterministic(
    repository_with_assets: Database,
) -> None:
    # a5 has no name: last in both directions; ties (none here) would fall back to the id.
    assert _ids(repository_with_assets, sort_field=NAME) == ["a1", "a3", "a4", "a2", "a5"]
    pages = [_ids(repository_with_assets, sort_field=NAME, limit=2, offset=o) for o in (0, 2, 4)]
    assert pages == [["a1", "a3"], ["a4", "a2"], ["a5"]]


def test_default_sort_is_by_id_in_the_requested_order(repository_with_assets: Database) -> None:
    assert _ids(repository_with_assets, sort_order="DESC") == ["a5", "a4", "a3", "a2", "a1"]


@pytest.mark.parametrize(
    ("criterion", "message"),
    [
        (Criterion("nonsense", "=", "x"), "unknown asset field 'nonsense'"),
        (Criterion('http://x.example/"q', "=", "x"), "unknown asset field"),
        (Criterion("id", "contains", "x"), "'contains' does not apply"),
        (Criterion("createdAt", "like", "2026%"), "operator 'like' does not apply"),
        (Criterion("createdAt", ">", "yesterday"), "ISO-8601"),
        (Criterion("createdAt", ">", "2026-05-04T08:00:00"), "time zone"),
        (Criterion("id", "=", 3), "needs a string"),
        (Criterion("id", "in", []), "non-empty list"),
        (Criterion("id", "in", "a1"), "non-empty list"),
        (Criterion(SIZE, "in", [1, "1"]), "of one type"),
        (Criterion(SIZE, "=", {"a": 1}), "string, number or boolean"),
        (Criterion(SIZE, "like", 1), "string pattern"),
        (Criterion(OPEN, ">", True), "does not apply to a boolean"),
        (Criterion(KEYWORDS, "contains", ["camp"]), "'contains' on"),
    ],
)
def test_invalid_queries_are_refused(
    repository_with_assets: Database, criterion: Criterion, message: str
) -> None:
    with (
        repository_with_assets.read() as session,
        pytest.raises(InvalidQuery, match=message) as raised,
    ):
        AssetRepository(session).query(QuerySpec(filters=(criterion,)))
    assert raised.value.status == 400


def test_unknown_sort_field_is_refused(repository_with_assets: Database) -> None:
    with repository_with_assets.read() as session, pytest.raises(InvalidQuery, match="sortish"):
        AssetRepository(session).query(QuerySpec(sort_field="sortish"))
