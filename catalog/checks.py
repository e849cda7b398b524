"""Checks the model runs on its values: identifiers, IRIs, language tags, dates, durations.

Each check raises :class:`ValueError` naming the field, and returns the value to store (language
tags are stored lower-case, as JSON-LD processors and rdflib normalise them).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

MAX_IDENTIFIER = 2048
MAX_TEXT = 20_000

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
# Characters an IRI may not hold (RFC 3987 excludes them; Turtle and N-Triples cannot write them).
_FORBIDDEN = re.compile(r"[\x00-\x20<>\"{}|\\^`\x7f]")
# BCP 47 well-formedness as RDF and JSON-LD read it: a primary subtag and alphanumeric subtags.
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
# xsd:duration: at least one component; a T only when a time component follows.
_DURATION = re.compile(
    r"^-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")


def is_absolute_iri(value: str) -> bool:
    """Whether ``value`` starts with a scheme (``https:``, ``urn:``, ``did:``…)."""
    return _SCHEME.match(value) is not None


def identifier(value: object, what: str) -> str:
    """An identifier: an IRI, a URN or a plain id (``booking-barometer``), without spaces."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    if len(value) > MAX_IDENTIFIER:
        raise ValueError(f"{what} is longer than {MAX_IDENTIFIER} characters")
    if _FORBIDDEN.search(value):
        raise ValueError(f"{what} {value!r} contains a space or a character IRIs cannot hold")
    if value.startswith(("_:", "@")):
        raise ValueError(f"{what} {value!r} is a blank node label or a JSON-LD keyword")
    return value


def iri(value: object, what: str) -> str:
    """An absolute IRI."""
    checked = identifier(value, what)
    if not is_absolute_iri(checked):
        raise ValueError(f"{what} {checked!r} must be an absolute IRI")
    return checked


def iris(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    """A tuple of absolute IRIs without repeats."""
    for value in values:
        iri(value, what)
    if len(set(values)) != len(values):
        raise ValueError(f"{what} lists an IRI twice")
    return values


def language_tag(value: object, what: str) -> str:
    """A well-formed BCP 47 language tag, lower-cased."""
    if not isinstance(value, str) or _LANGUAGE_TAG.match(value) is None:
        raise ValueError(f"{what}: {value!r} is not a well-formed language tag")
    return value.lower()


def text(value: object, what: str, *, limit: int = MAX_TEXT) -> str:
    """A non-blank string of at most ``limit`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-blank string")
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    return value


def moment(value: object, what: str) -> date | datetime:
    """A date, or a timezone-aware datetime (xsd:dateTime without a zone is ambiguous)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{what} must be timezone-aware")
        try:
            value.astimezone(UTC)  # compared and stored in UTC
        except OverflowError:
            raise ValueError(f"{what} is out of range in UTC") from None
        return value
    if isinstance(value, date):
        return value
    raise ValueError(f"{what} must be a date or a datetime")


def duration(value: object, what: str) -> str:
    """An ``xsd:duration`` such as ``P1D`` or ``P7D``."""
    if not isinstance(value, str) or _DURATION.match(value) is None:
        raise ValueError(f"{what}: {value!r} is not an xsd:duration (e.g. P1D)")
    return value


def hex_binary(value: object, what: str) -> str:
    """A hexadecimal string (``xsd:hexBinary``), stored lower-case."""
    if not isinstance(value, str) or _HEX.match(value) is None:
        raise ValueError(f"{what} must be an even number of hexadecimal digits")
    return value.lower()


def non_negative(value: object, what: str) -> int:
    """A non-negative integer (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer")
    return value
