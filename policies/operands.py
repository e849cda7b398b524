"""The left operands this library knows: value type, operators, scopes (the policy profile).

Standard ODRL operands (``odrl:purpose``, ``dateTime``, ``elapsedTime``, ``spatial``, ``count``,
``recipient``) and the project's profile, namespace ``https://w3id.org/etds/policy#`` (prefix
``etds``; profile IRI ``https://w3id.org/etds/policy``):

- dataspace operands checked against verified token claims: ``etds:membership`` (claim
  ``membership``; also accepted under the dataspace practice's name ``MembershipCredential``) and
  ``etds:organisationType`` (claim ``org_type``);
- data-shaping operands, *enforced* by the data plane's enforcement plan rather than checked:
  ``etds:aggregationThreshold``, ``etds:allowedColumns``, ``etds:spatialGranularity`` and
  ``etds:rowRegion`` (rows restricted to regions, e.g. the requester's region of competence).

Each :class:`OperandSpec` says which operators fit and in which scopes the operand can be
evaluated. Validation refuses any other operand or operator; evaluation denies an operand in a
scope it is not bound to. ``docs/policies.md`` documents every term.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from policies.context import Scope
from policies.vocabulary import ETDS, ODRL, Operator

ALL_SCOPES = frozenset(Scope)
AGREEMENT_SCOPES = frozenset({Scope.NEGOTIATION, Scope.TRANSFER, Scope.DATAPLANE})
REGION_OF_COMPETENCE = ETDS + "regionOfCompetence"
ORGANISATION_TYPES = frozenset(
    {
        "national_agency",
        "regional_agency",
        "departmental_agency",
        "destination_agency",
        "research",
        "company",
    }
)


class ValueKind(StrEnum):
    """How a left operand's right-operand values are read and compared."""

    DATETIME = "dateTime"  # xsd:dateTime with a time zone
    DURATION = "duration"  # xsd:duration, compared as "since the agreement was signed"
    COUNT = "count"  # non-negative integer
    THRESHOLD = "threshold"  # positive integer (enforced)
    PURPOSE = "purpose"  # DPV purpose IRI, hierarchical
    REGION = "region"  # NUTS IRI, hierarchical
    TEXT = "text"  # plain string
    ORG_TYPE = "organisationType"  # one of ORGANISATION_TYPES
    PARTY = "party"  # participant id (IRI or string)
    COLUMNS = "columns"  # column names (enforced)
    GRANULARITY = "granularity"  # departement | region | nuts1 | country (enforced)
    ROW_REGION = "rowRegion"  # NUTS IRI or etds:regionOfCompetence (enforced)


_ORDERED = frozenset(
    {Operator.EQ, Operator.NEQ, Operator.GT, Operator.GTEQ, Operator.LT, Operator.LTEQ}
)
_SETS = frozenset({Operator.EQ, Operator.NEQ, Operator.IS_ANY_OF, Operator.IS_NONE_OF})
_REGIONS = _SETS | {Operator.IS_ALL_OF, Operator.IS_PART_OF, Operator.HAS_PART}
_MINIMUMS = frozenset({Operator.EQ, Operator.GT, Operator.GTEQ})


@dataclass(frozen=True, slots=True)
class OperandSpec:
    """One left operand: its IRI, value kind, operators, scopes; ``enforced`` operands shape the
    delivered data (the enforcement plan applies them) instead of being checked."""

    iri: str
    kind: ValueKind
    operators: frozenset[Operator]
    scopes: frozenset[Scope]
    enforced: bool
    summary: str


SPECS: MappingProxyType[str, OperandSpec] = MappingProxyType(
    {
        spec.iri: spec
        for spec in (
            OperandSpec(
                ODRL + "purpose",
                ValueKind.PURPOSE,
                frozenset({Operator.EQ, Operator.NEQ, Operator.IS_A})
                | {Operator.IS_ANY_OF, Operator.IS_NONE_OF},
                AGREEMENT_SCOPES,
                False,
                "the purpose the requester declared (DPV), isA follows the DPV hierarchy",
            ),
            OperandSpec(
                ODRL + "dateTime",
                ValueKind.DATETIME,
                _ORDERED,
                ALL_SCOPES,
                False,
                "the time of the request",
            ),
            OperandSpec(
                ODRL + "elapsedTime",
                ValueKind.DURATION,
                _ORDERED,
                AGREEMENT_SCOPES,
                False,
                "time since the agreement was signed (zero while negotiating)",
            ),
            OperandSpec(
                ODRL + "spatial",
                ValueKind.REGION,
                _REGIONS,
                ALL_SCOPES,
                False,
                "the requester's regions (claim nuts, else country)",
            ),
            OperandSpec(
                ODRL + "count",
                ValueKind.COUNT,
                _ORDERED,
                AGREEMENT_SCOPES,
                False,
                "transfers under the agreement, the current one included (zero while negotiating)",
            ),
            OperandSpec(
                ODRL + "recipient",
                ValueKind.PARTY,
                _SETS,
                ALL_SCOPES,
                False,
                "the requester's participant id (claim sub)",
            ),
            OperandSpec(
                ETDS + "membership",
                ValueKind.TEXT,
                _SETS,
                ALL_SCOPES,
                False,
                "the requester's data space membership status (claim membership)",
            ),
            OperandSpec(
                ETDS + "organisationType",
                ValueKind.ORG_TYPE,
                _SETS,
                ALL_SCOPES,
                False,
                "the requester's organisation type (claim org_type)",
            ),
            OperandSpec(
                ETDS + "aggregationThreshold",
                ValueKind.THRESHOLD,
                _MINIMUMS,
                AGREEMENT_SCOPES,
                True,
                "minimum count per published group; smaller groups are suppressed",
            ),
            OperandSpec(
                ETDS + "allowedColumns",
                ValueKind.COLUMNS,
                frozenset({Operator.EQ}),
                AGREEMENT_SCOPES,
                True,
                "the columns the consumer may receive",
            ),
            OperandSpec(
                ETDS + "spatialGranularity",
                ValueKind.GRANULARITY,
                _MINIMUMS,
                AGREEMENT_SCOPES,
                True,
                "the finest geography delivered (departement, region, nuts1, country)",
            ),
            OperandSpec(
                ETDS + "rowRegion",
                ValueKind.ROW_REGION,
                frozenset({Operator.IS_PART_OF}),
                AGREEMENT_SCOPES,
                True,
                "rows delivered only for these regions (etds:regionOfCompetence: the "
                "requester's nuts claim)",
            ),
        )
    }
)

# Operators that compare with exactly one right-operand value.
SINGLE_VALUE_OPERATORS = frozenset(
    {Operator.GT, Operator.GTEQ, Operator.LT, Operator.LTEQ, Operator.IS_A}
)
# Value kinds whose operands are single-valued under eq/neq too.
SCALAR_KINDS = frozenset(
    {
        ValueKind.DATETIME,
        ValueKind.DURATION,
        ValueKind.COUNT,
        ValueKind.THRESHOLD,
        ValueKind.GRANULARITY,
        ValueKind.PURPOSE,
        ValueKind.TEXT,
        ValueKind.ORG_TYPE,
        ValueKind.PARTY,
    }
)


def takes_single_value(kind: ValueKind, operator: Operator) -> bool:
    """True if ``operator`` on an operand of ``kind`` compares with exactly one value."""
    if operator in SINGLE_VALUE_OPERATORS:
        return True
    return kind in SCALAR_KINDS and operator in (Operator.EQ, Operator.NEQ)
