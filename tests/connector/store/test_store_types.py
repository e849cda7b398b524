"""UTCDateTime and JSONDocument behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from store_records import asset

from connector.store.database import Database
from connector.store.repositories.assets import AssetRepository
from connector.store.types import UTCDateTime, require_aware

PARIS_SUMMER = timezone(timedelta(hours=2))
SQLITE: Dialect = sqlite.dialect()
POSTGRESQL: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]


def test_aware_datetimes_round_trip_as_the_same_instant_in_utc(database: Database) -> None:
    local = datetime(2026, 7, 14, 23, 59, 58, 999999, tzinfo=PARIS_SUMMER)
    with database.transaction() as session:
        AssetRepository(session).create(asset("a", created_at=local, updated_at=local))
    with database.read() as session:
        stored = AssetRepository(session).get("a")
    assert stored.created_at == local
    assert stored.created_at.tzinfo is UTC
    assert stored.created_at == datetime(2026, 7, 14, 21, 59, 58, 999999, tzinfo=UTC)


def test_json_documents_round_trip_and_none_is_sql_null(database: Database) -> None:
    properties = {"k": [1, 2.5, True, None, {"nested": "é ✓"}], "empty": {}}
    with database.transaction() as session:
        AssetRepository(session).create(asset("a", properties=properties))
    with database.read() as session:
        assert AssetRepository(session).get("a").properties == properties


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL], ids=["sqlite", "pg"])
def test_naive_datetimes_are_refused_on_write(dialect: Dialect) -> None:
    column_type = UTCDateTime()
    with pytest.raises(ValueError, match="timezone-aware"):
        column_type.process_bind_param(datetime(2026, 1, 1), dialect)


def test_bind_and_result_conversions() -> None:
    column_type = UTCDateTime()
    aware = datetime(2026, 1, 1, 12, tzinfo=PARIS_SUMMER)
    stored_sqlite = column_type.process_bind_param(aware, SQLITE)
    assert stored_sqlite == datetime(2026, 1, 1, 10)
    assert column_type.process_bind_param(aware, POSTGRESQL) == aware
    assert column_type.process_result_value(datetime(2026, 1, 1, 10), SQLITE) == (
        datetime(2026, 1, 1, 10, tzinfo=UTC)
    )
    read_back = column_type.process_result_value(aware, POSTGRESQL)
    assert read_back is not None
    assert read_back.tzinfo is UTC
    assert column_type.process_bind_param(None, SQLITE) is None
    with pytest.raises(TypeError):
        column_type.process_bind_param("2026-01-01", SQLITE)  # type: ignore[arg-type]


def test_require_aware_normalises_to_utc() -> None:
    assert require_aware(datetime(2026, 1, 1, 2, tzinfo=PARIS_SUMMER)) == datetime(
        2026, 1, 1, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="naive"):
        require_aware(datetime(2026, 1, 1))
