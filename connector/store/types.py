"""Column types that behave the same on SQLite and PostgreSQL.

``UTCDateTime`` exists because the two databases disagree on time zones: PostgreSQL's
``timestamptz`` returns aware datetimes in the session time zone, SQLite stores text and returns
naive values. Storing UTC everywhere and always returning aware UTC datetimes removes the
difference; refusing naive datetimes on write keeps an ambiguous local time from ever being stored.

``JSONDocument`` is ``JSONB`` on PostgreSQL (indexable, ``@>`` containment) and SQLite's JSON1 text
elsewhere. Python ``None`` is stored as SQL ``NULL``, not as the JSON literal ``null``, so that
"no value" is ``IS NULL`` on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def utc_now() -> datetime:
    """The current time as an aware UTC datetime (for callers; repositories take ``now``)."""
    return datetime.now(UTC)


def require_aware(value: datetime, what: str = "datetime") -> datetime:
    """``value`` converted to UTC; a naive datetime raises ``ValueError``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC ``datetime``."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        utc = require_aware(value)
        if dialect.name == "sqlite":
            # SQLite stores text; a fixed naive UTC form keeps text comparisons chronological.
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json_document() -> TypeEngine[Any]:
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


JSONDocument: TypeEngine[Any] = _json_document()
"""JSON on SQLite, JSONB on PostgreSQL; ``None`` is SQL ``NULL``."""
