"""The small value classes of the DCAT-AP model: language strings, periods, checksums, licences,
agents and contact points. Frozen; each checks its invariants when built (``ValueError``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

from catalog import checks

T = TypeVar("T")


def as_tuple(value: Iterable[T], what: str) -> tuple[T, ...]:
    """``value`` as a tuple (lists are accepted; a lone string is refused, being a likely slip)."""
    if isinstance(value, str | bytes):
        raise ValueError(f"{what} must be a sequence, not a string")
    return tuple(value)


def store(instance: object, name: str, value: Any) -> None:
    """Set a field of a frozen dataclass while it checks itself (``__post_init__``)."""
    object.__setattr__(instance, name, value)


@dataclass(frozen=True, slots=True)
class LangString:
    """A text with its language (``None``: no language, a plain literal)."""

    value: str
    language: str | None = None

    def __post_init__(self) -> None:
        checks.text(self.value, "a language string")
        if self.language is not None:
            store(self, "language", checks.language_tag(self.language, "a language string"))

    def __str__(self) -> str:
        return self.value


def lang_strings(values: Iterable[LangString], what: str) -> tuple[LangString, ...]:
    """A tuple of :class:`LangString` without repeats."""
    stored = as_tuple(values, what)
    for value in stored:
        if not isinstance(value, LangString):
            raise ValueError(f"{what} must hold LangString values")
    if len(set(stored)) != len(stored):
        raise ValueError(f"{what} lists the same text twice")
    return stored


def iso_moment(value: date) -> tuple[str, str]:
    """``(lexical form, "date" | "dateTime")`` of a date or an aware datetime (UTC as ``Z``)."""
    if isinstance(value, datetime):
        text = value.isoformat()
        offset = value.utcoffset()
        if offset is not None and not offset:
            text = text.removesuffix("+00:00") + "Z"
        return text, "dateTime"
    return value.isoformat(), "date"


def moment_key(value: date) -> datetime:
    """A comparable form of a date or an aware datetime: a date is its midnight in UTC."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PeriodOfTime:
    """``dct:PeriodOfTime`` with ``dcat:startDate`` / ``dcat:endDate`` (either may be open)."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start is None and self.end is None:
            raise ValueError("a period of time needs a start or an end")
        if self.start is not None:
            checks.moment(self.start, "the period's start")
        if self.end is not None:
            checks.moment(self.end, "the period's end")
        if (
            self.start is not None
            and self.end is not None
            and moment_key(self.start) > moment_key(self.end)
        ):
            raise ValueError("a period of time cannot end before it starts")


@dataclass(frozen=True, slots=True)
class Checksum:
    """``spdx:Checksum``: the algorithm's IRI and the hexadecimal value."""

    algorithm: str
    value: str

    def __post_init__(self) -> None:
        checks.iri(self.algorithm, "the checksum algorithm")
        store(self, "value", checks.hex_binary(self.value, "the checksum value"))


@dataclass(frozen=True, slots=True)
class LicenseDocument:
    """``dct:LicenseDocument``: the licence's IRI and, optionally, its ADMS licence type."""

    iri: str
    type: str | None = None

    def __post_init__(self) -> None:
        checks.iri(self.iri, "the licence")
        if self.type is not None:
            checks.iri(self.type, "the licence type")


@dataclass(frozen=True, slots=True)
class Agent:
    """``foaf:Agent``: names (``foaf:name``), an optional IRI, type (``dct:type``), homepage."""

    names: tuple[LangString, ...]
    id: str | None = None
    type: str | None = None
    homepage: str | None = None

    def __post_init__(self) -> None:
        store(self, "names", lang_strings(self.names, "the agent's names"))
        if not self.names:
            raise ValueError("an agent needs a name")
        if self.id is not None:
            checks.identifier(self.id, "the agent's id")
        if self.type is not None:
            checks.iri(self.type, "the agent's type")
        if self.homepage is not None:
            checks.iri(self.homepage, "the agent's homepage")


@dataclass(frozen=True, slots=True)
class ContactPoint:
    """``vcard:Kind``: a name (``vcard:fn``), an e-mail address, a web page; at least one."""

    name: str | None = None
    email: str | None = None
    url: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        if self.name is None and self.email is None and self.url is None:
            raise ValueError("a contact point needs a name, an e-mail address or a URL")
        if self.name is not None:
            checks.text(self.name, "the contact point's name", limit=1000)
        if self.email is not None:
            email = self.email.removeprefix("mailto:")
            if "@" not in email or checks.is_absolute_iri(email):
                raise ValueError(f"{self.email!r} is not an e-mail address")
            checks.identifier(email, "the contact point's e-mail address")
            store(self, "email", email)
        if self.url is not None:
            checks.iri(self.url, "the contact point's URL")
        if self.id is not None:
            checks.identifier(self.id, "the contact point's id")
