"""Filter operands checked for what both databases can bind and compare.

A filter operand comes from a client. One that a database cannot take would otherwise reach the
driver and fail there (an overflow on SQLite, "bigint out of range" on PostgreSQL: a 500), or,
worse, be quietly turned into something else (SQLite binds NaN as NULL). So every operand is
checked here first, and refused with :class:`~connector.store.errors.InvalidQuery` (a 400):

* integers must fit a signed 64-bit integer (SQLite's INTEGER, PostgreSQL's ``bigint``);
* floats must be finite (JSON has no NaN or infinity, and neither compares sensibly);
* strings must not contain NUL (PostgreSQL's ``text`` cannot hold it) and must be valid Unicode
  (a lone surrogate cannot be encoded as UTF-8 by either driver);
* datetimes must lie within years 1 to 9999 once converted to UTC, whether given as a datetime,
  an ISO-8601 string, or whole epoch milliseconds or seconds (:func:`epoch_span`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.store.errors import InvalidQuery

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def text(value: str, name: str) -> str:
    """``value`` if both databases can store and compare it."""
    if "\x00" in value:
        raise InvalidQuery(f"{name!r}: strings must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQuery(f"{name!r}: strings must be valid UTF-8 (no lone surrogates)") from None
    return value


def integer(value: int, name: str) -> int:
    """``value`` if it fits a signed 64-bit integer."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidQuery(f"{name!r}: integers must fit in a signed 64-bit integer, not {value}")
    return value


def number(value: int | float, name: str) -> int | float:
    """An integer in the 64-bit range or a finite float."""
    if isinstance(value, int):
        return integer(value, name)
    if not math.isfinite(value):
        raise InvalidQuery(f"{name!r}: numbers must be finite, not {value!r}")
    return value


def scalar(value: Any, name: str) -> Any:
    """A JSON scalar operand (string, number or boolean) checked as its type requires."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return number(value, name)
    if isinstance(value, str):
        return text(value, name)
    return value


def _out_of_range(name: str, value: Any) -> InvalidQuery:
    return InvalidQuery(f"{name!r}: datetime out of range (years 1 to 9999 in UTC): {value!r}")


def _from_epoch_milliseconds(value: int | float, name: str) -> datetime:
    if isinstance(value, float) and math.isnan(value):
        raise InvalidQuery(f"{name!r}: epoch milliseconds must be a number, not NaN")
    try:
        return _EPOCH + timedelta(milliseconds=value)
    except (OverflowError, ValueError):
        raise _out_of_range(name, value) from None


def epoch_span(value: int, unit: timedelta, name: str) -> tuple[datetime, datetime]:
    """The whole ``unit`` number ``value`` after the epoch (e.g. a millisecond or a second), as
    ``[start, end)`` (both in range)."""
    try:
        start = _EPOCH + value * unit
        return start, start + unit
    except (OverflowError, ValueError):
        raise _out_of_range(name, value) from None


def timestamp(value: Any, name: str) -> datetime:
    """An aware UTC datetime from an aware datetime, an ISO-8601 string with an offset, or epoch
    milliseconds (EDC's ``createdAt``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch_milliseconds(value, name)
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidQuery(f"{name!r} needs an ISO-8601 datetime, not {value!r}") from None
    else:
        raise InvalidQuery(f"{name!r} needs a datetime, epoch milliseconds or ISO-8601 string")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidQuery(f"{name!r} needs a datetime with a time zone, not {value!r}")
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _out_of_range(name, value) from None
