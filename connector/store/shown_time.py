"""Filters on datetimes as responses show them: in whole epoch milliseconds (EDC's
``createdAt``) or whole epoch seconds (EDC's ``contractSigningDate``); stored values have
microseconds. The filter compares what the response shows.

A response shows an instant as the whole unit it falls in (the floor). An integer operand ``N``
therefore stands for ``[N, N+1)`` units: ``= N`` matches every instant shown as ``N``, ``> N``
those shown after ``N``, ``<= N`` those shown as ``N`` or before, and so on. An ISO-8601 string
(or a datetime) is an exact instant, compared as it is, and so are fractional epoch
milliseconds; fractional epoch seconds are refused (no shown value has any).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_

from connector.store import operands
from connector.store.errors import InvalidQuery

MILLISECOND = timedelta(milliseconds=1)
SECOND = timedelta(seconds=1)

Span = tuple[datetime, datetime | None]
"""``[start, end)``, or the one instant ``start`` when ``end`` is None."""


def _span(value: Any, name: str, unit: timedelta) -> Span:
    if isinstance(value, int) and not isinstance(value, bool):
        return operands.epoch_span(value, unit, name)
    if unit == MILLISECOND and isinstance(value, float):
        return operands.timestamp(value, name), None
    if not isinstance(value, str | datetime):
        units = "milliseconds" if unit == MILLISECOND else "seconds"
        raise InvalidQuery(
            f"{name!r} needs whole epoch {units} or an ISO-8601 datetime, not {value!r}"
        )
    return operands.timestamp(value, name), None


def _within(column: Any, span: Span) -> ColumnElement[bool]:
    start, end = span
    if end is None:
        return column == start  # type: ignore[no-any-return]
    return and_(column >= start, column < end)


def condition(
    column: Any, op: str, right: Any, name: str, *, unit: timedelta
) -> ColumnElement[bool]:
    """``column op right`` as the response's whole ``unit``s compare; ``right`` is a list for
    ``in`` and ``not in``. Operators other than ``= != in "not in" < <= > >=`` are refused."""
    if op in ("in", "not in"):
        values: Sequence[Any] = right
        within = or_(*(_within(column, _span(value, name, unit)) for value in values))
        return within if op == "in" else not_(within)
    span = _span(right, name, unit)
    start, end = span
    conditions: dict[str, Any] = {
        "=": _within(column, span),
        "!=": not_(_within(column, span)),
        "<": column < start,
        ">=": column >= start,
        "<=": column <= start if end is None else column < end,
        ">": column > start if end is None else column >= end,
    }
    if op not in conditions:
        raise InvalidQuery(f"operator {op!r} does not apply to {name!r}")
    found: ColumnElement[bool] = conditions[op]
    return found
