"""Typed readings of right-operand values: date-times, durations, integers, strings, IRIs.

Each ``read_*`` function takes one :class:`~policies.model.RightValue` and returns the typed value
or raises :class:`ValueError` with a sentence saying what was expected. A value is accepted in
its natural JSON form (``3``, ``"2026-12-31T00:00:00Z"``) or as a typed literal whose datatype
fits (``{"@value": "3", "@type": "xsd:integer"}``); a mismatching datatype is refused rather than
coerced, so that ``{"@value": "3", "@type": "xsd:dateTime"}`` cannot pass as a count.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from policies.model import Iri, Literal, RightValue
from policies.vocabulary import XSD

_DATETIME_TYPES = frozenset({None, XSD + "dateTime", XSD + "dateTimeStamp"})
_DURATION_TYPES = frozenset(
    {None, XSD + "duration", XSD + "dayTimeDuration", XSD + "yearMonthDuration"}
)
_INTEGER_TYPES = frozenset(
    {None}
    | {
        XSD + name
        for name in (
            "integer",
            "int",
            "long",
            "short",
            "nonNegativeInteger",
            "positiveInteger",
            "unsignedInt",
            "unsignedLong",
        )
    }
)
_STRING_TYPES = frozenset({None, XSD + "string", XSD + "token", XSD + "NMTOKEN"})
_IRI_TYPES = frozenset({None, XSD + "anyURI"})
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,18}")
_DURATION_TEXT = re.compile(
    r"P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?"
    r"(?:T(?!$)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)
_MAX_DURATION_YEARS = 1000


def _literal(value: RightValue, accepted: frozenset[str | None], expected: str) -> Literal:
    if not isinstance(value, Literal):
        raise ValueError(f"expected {expected}, got the IRI {value.value!r}")
    if value.datatype not in accepted:
        raise ValueError(f"expected {expected}, got a literal typed {value.datatype}")
    return value


def read_datetime(value: RightValue) -> datetime:
    """An ``xsd:dateTime`` with a time zone (a zoneless date-time is ambiguous: refused)."""
    literal = _literal(value, _DATETIME_TYPES, "an xsd:dateTime")
    if not isinstance(literal.value, str):
        raise ValueError(f"expected an xsd:dateTime, got {literal.value!r}")
    try:
        parsed = datetime.fromisoformat(literal.value)
    except ValueError:
        raise ValueError(f"expected an xsd:dateTime, got {literal.value!r}") from None
    if "T" not in literal.value:
        raise ValueError(f"expected a date and a time, got the date {literal.value!r}")
    if parsed.tzinfo is None:
        raise ValueError(f"the date-time {literal.value!r} has no time zone (add Z or +hh:mm)")
    return parsed


@dataclass(frozen=True, slots=True)
class Duration:
    """An ``xsd:duration`` without a sign: calendar part (years, months) and exact part."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: Decimal = Decimal(0)

    def __str__(self) -> str:
        """The xsd:duration form (``P1Y2M``, ``PT12H``, ``P0D`` for zero)."""
        date = "".join(
            f"{number}{unit}"
            for number, unit in ((self.years, "Y"), (self.months, "M"), (self.days, "D"))
            if number
        )
        seconds = f"{self.seconds.normalize():f}" if self.seconds else ""
        time = "".join(
            f"{number}{unit}"
            for number, unit in ((self.hours, "H"), (self.minutes, "M"), (seconds, "S"))
            if number
        )
        return "P" + date + ("T" + time if time else "") if date or time else "P0D"

    def after(self, start: datetime) -> datetime:
        """``start`` plus this duration (months added on the calendar, day clamped)."""
        month_index = start.month - 1 + self.months + 12 * self.years
        year = start.year + month_index // 12
        month = month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        shifted = start.replace(year=year, month=month, day=day)
        exact = timedelta(
            days=self.days, hours=self.hours, minutes=self.minutes, seconds=float(self.seconds)
        )
        return shifted + exact


def read_duration(value: RightValue) -> Duration:
    """A non-negative ``xsd:duration`` such as ``P12M`` or ``P1DT12H``."""
    literal = _literal(value, _DURATION_TYPES, "an xsd:duration")
    text = literal.value
    match = _DURATION_TEXT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"expected an xsd:duration such as 'P12M', got {text!r}")
    parts = match.groupdict()
    duration = Duration(
        years=int(parts["years"] or 0),
        months=int(parts["months"] or 0),
        days=int(parts["days"] or 0),
        hours=int(parts["hours"] or 0),
        minutes=int(parts["minutes"] or 0),
        seconds=Decimal(parts["seconds"] or 0),
    )
    span_years = duration.years + duration.months / 12 + duration.days / 366
    if span_years + duration.hours / 8784 > _MAX_DURATION_YEARS:
        raise ValueError(f"the duration {text!r} is longer than {_MAX_DURATION_YEARS} years")
    return duration


def read_integer(value: RightValue) -> int:
    """An integer: a JSON integer or an integer literal (``"3"``, ``xsd:integer``)."""
    literal = _literal(value, _INTEGER_TYPES, "an integer")
    raw = literal.value
    if isinstance(raw, bool):
        raise ValueError(f"expected an integer, got {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and _INTEGER_TEXT.fullmatch(raw):
        return int(raw)
    raise ValueError(f"expected an integer, got {raw!r}")


def read_string(value: RightValue) -> str:
    """A non-empty plain string (a literal, never an IRI)."""
    literal = _literal(value, _STRING_TYPES, "a string")
    if not isinstance(literal.value, str) or not literal.value:
        raise ValueError(f"expected a non-empty string, got {literal.value!r}")
    return literal.value


def read_iri(value: RightValue) -> str:
    """An IRI given as ``{"@id": …}`` or as a string literal (the DSP context types neither)."""
    if isinstance(value, Iri):
        return value.value
    literal = _literal(value, _IRI_TYPES, "an IRI")
    if not isinstance(literal.value, str) or not literal.value:
        raise ValueError(f"expected an IRI, got {literal.value!r}")
    return literal.value


def render(values: tuple[RightValue, ...]) -> str:
    """Right-operand values as text for decisions and messages."""
    texts = [str(value) for value in values]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
