"""Reading a constraint's right operand as the typed value its left operand expects.

Shared by validation (a :class:`ValueError` becomes an issue naming the right operand) and by
evaluation and enforcement (which work on the typed values). The expected datatypes, when a
constraint states ``odrl:dataType``, are checked here too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from policies import nuts
from policies.dpv import PurposeTaxonomy
from policies.model import RightValue
from policies.nuts import Granularity
from policies.operands import (
    ORGANISATION_TYPES,
    REGION_OF_COMPETENCE,
    OperandSpec,
    ValueKind,
)
from policies.values import (
    Duration,
    read_datetime,
    read_duration,
    read_integer,
    read_iri,
    read_string,
)
from policies.vocabulary import XSD, resolve_term

Expected = datetime | Duration | int | Granularity | tuple[str, ...]

_DATA_TYPES: dict[ValueKind, frozenset[str]] = {
    ValueKind.DATETIME: frozenset({XSD + "dateTime", XSD + "dateTimeStamp"}),
    ValueKind.DURATION: frozenset({XSD + "duration"}),
    ValueKind.COUNT: frozenset({XSD + "integer", XSD + "nonNegativeInteger"}),
    ValueKind.THRESHOLD: frozenset({XSD + "integer", XSD + "positiveInteger"}),
    ValueKind.PURPOSE: frozenset({XSD + "anyURI"}),
    ValueKind.REGION: frozenset({XSD + "anyURI"}),
    ValueKind.PARTY: frozenset({XSD + "anyURI", XSD + "string"}),
    ValueKind.ROW_REGION: frozenset({XSD + "anyURI"}),
    ValueKind.TEXT: frozenset({XSD + "string"}),
    ValueKind.ORG_TYPE: frozenset({XSD + "string"}),
    ValueKind.COLUMNS: frozenset({XSD + "string"}),
    ValueKind.GRANULARITY: frozenset({XSD + "string"}),
}


def check_data_type(kind: ValueKind, data_type: str | None) -> None:
    """ValueError if a constraint's ``odrl:dataType`` does not fit its left operand."""
    if data_type is not None and data_type not in _DATA_TYPES[kind]:
        allowed = ", ".join(sorted(_DATA_TYPES[kind]))
        raise ValueError(f"dataType {data_type} does not fit this left operand ({allowed})")


def _count(value: RightValue) -> int:
    number = read_integer(value)
    if number < 0:
        raise ValueError(f"expected a non-negative integer, got {number}")
    return number


def _threshold(value: RightValue) -> int:
    number = read_integer(value)
    if number < 1:
        raise ValueError(f"expected a threshold of at least 1, got {number}")
    return number


def _org_type(value: RightValue) -> str:
    text = read_string(value)
    if text not in ORGANISATION_TYPES:
        names = ", ".join(sorted(ORGANISATION_TYPES))
        raise ValueError(f"unknown organisation type {text!r} (expected one of {names})")
    return text


def _region(value: RightValue) -> str:
    return nuts.code_from_iri(read_iri(value))


def _row_region(value: RightValue) -> str:
    iri = resolve_term(read_iri(value))
    if iri == REGION_OF_COMPETENCE:
        return iri
    return nuts.code_from_iri(iri)


def _purpose_reader(taxonomy: PurposeTaxonomy) -> Callable[[RightValue], str]:
    def read(value: RightValue) -> str:
        iri = resolve_term(read_iri(value))
        if iri not in taxonomy:
            raise ValueError(f"unknown purpose {iri!r} (not in the bundled DPV purposes)")
        return iri

    return read


def read_right_operand(
    spec: OperandSpec, values: tuple[RightValue, ...], taxonomy: PurposeTaxonomy
) -> Expected:
    """The typed right operand of a constraint on ``spec`` (ValueError naming the problem).

    Scalar kinds take exactly one value (callers check cardinality first); term kinds return
    a tuple of the values, in document order, without duplicates.
    """
    kind = spec.kind
    if kind is ValueKind.DATETIME:
        return read_datetime(values[0])
    if kind is ValueKind.DURATION:
        return read_duration(values[0])
    if kind is ValueKind.COUNT:
        return _count(values[0])
    if kind is ValueKind.THRESHOLD:
        return _threshold(values[0])
    if kind is ValueKind.GRANULARITY:
        return Granularity.from_label(read_string(values[0]))
    readers: dict[ValueKind, Callable[[RightValue], str]] = {
        ValueKind.PURPOSE: _purpose_reader(taxonomy),
        ValueKind.REGION: _region,
        ValueKind.TEXT: read_string,
        ValueKind.ORG_TYPE: _org_type,
        ValueKind.PARTY: read_iri,
        ValueKind.COLUMNS: read_string,
        ValueKind.ROW_REGION: _row_region,
    }
    terms = [readers[kind](value) for value in values]
    if kind is ValueKind.COLUMNS and len(set(terms)) != len(terms):
        raise ValueError("a column is listed twice")
    return tuple(dict.fromkeys(terms))


def describe(expected: Any) -> str:
    """A typed right operand as text (for decisions)."""
    if isinstance(expected, tuple):
        return expected[0] if len(expected) == 1 else "[" + ", ".join(expected) + "]"
    if isinstance(expected, Granularity):
        return expected.label
    if isinstance(expected, datetime):
        return expected.isoformat()
    return str(expected)
