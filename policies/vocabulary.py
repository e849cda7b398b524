"""Names: the namespaces, the ODRL terms this library knows, and how short names map to IRIs.

The model holds full IRIs for every vocabulary term (policy type, action, left operand,
operator). Documents name them in many ways, and :func:`resolve_term` turns each way into the
IRI:

- a full IRI (``http://www.w3.org/ns/odrl/2/purpose``) stays as it is;
- a compact IRI with a prefix of :data:`PREFIXES` (``odrl:purpose``, ``etds:allowedColumns``)
  expands. It reaches this library unexpanded when the document's context does not define the
  prefix (a node embedded in a DSP message: JSON-LD then reads ``etds:`` as a URI scheme);
- a bare ODRL name (``purpose``, ``dateTime``) is the ODRL term: the DSP 2025-1 context gives
  ``leftOperand`` and ``action`` the ``@vocab`` type without a vocabulary, so the protocol's own
  examples (``"leftOperand": "dateTime"``) expand to the relative IRI ``dateTime``;
- ``MembershipCredential``, the dataspace practice's name for the membership constraint, is the
  project's ``etds:membership``.

Anything else stays as written, and validation refuses it as an unknown term.

:func:`compact_term` goes the other way for serialisation: ODRL terms that the DSP ODRL profile
defines stay bare (``use``, ``eq``), other ODRL terms become ``odrl:…``, the project's terms
``etds:…``; these prefixed names are stable.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

ODRL = "http://www.w3.org/ns/odrl/2/"
ETDS = "https://w3id.org/etds/policy#"
ETDS_PROFILE = "https://w3id.org/etds/policy"
DPV = "https://w3id.org/dpv#"
XSD = "http://www.w3.org/2001/XMLSchema#"
NUTS = "http://data.europa.eu/nuts/code/"
EDC = "https://w3id.org/edc/v0.0.1/ns/"

PREFIXES = MappingProxyType({"odrl": ODRL, "etds": ETDS, "dpv": DPV, "xsd": XSD})


class PolicyKind(StrEnum):
    """The ODRL policy subclasses a policy can be (``odrl:Policy`` itself reads as Set)."""

    SET = "Set"
    OFFER = "Offer"
    AGREEMENT = "Agreement"

    @property
    def iri(self) -> str:
        return ODRL + self.value


class Operator(StrEnum):
    """ODRL 2.2 constraint operators (local names in the ODRL namespace)."""

    EQ = "eq"
    NEQ = "neq"
    GT = "gt"
    GTEQ = "gteq"
    LT = "lt"
    LTEQ = "lteq"
    IS_A = "isA"
    HAS_PART = "hasPart"
    IS_PART_OF = "isPartOf"
    IS_ALL_OF = "isAllOf"
    IS_ANY_OF = "isAnyOf"
    IS_NONE_OF = "isNoneOf"

    @property
    def iri(self) -> str:
        return ODRL + self.value


class LogicalOperator(StrEnum):
    """ODRL 2.2 logical constraint operators."""

    AND = "and"
    OR = "or"
    XONE = "xone"
    AND_SEQUENCE = "andSequence"

    @property
    def iri(self) -> str:
        return ODRL + self.value


OPERATORS_BY_IRI = MappingProxyType({op.iri: op for op in Operator})
LOGICAL_BY_IRI = MappingProxyType({op.iri: op for op in LogicalOperator})

# Actions: IRI → the action it is included in (None for the two roots, use and transfer).
# ODRL 2.2: every common-vocabulary action is included in use, except give and sell (transfer).
_ODRL_ACTIONS_IN_USE = (
    "acceptTracking", "aggregate", "annotate", "anonymize", "archive", "attribute", "compensate",
    "concurrentUse", "delete", "derive", "digitize", "display", "distribute", "ensureExclusivity",
    "execute", "extract", "grantUse", "include", "index", "inform", "install", "modify", "move",
    "nextPolicy", "obtainConsent", "play", "present", "print", "read", "reproduce",
    "reviewPolicy", "stream", "synchronize", "textToSpeech", "transform", "translate",
    "uninstall", "watermark",
)  # fmt: skip
ACTION_PARENTS: MappingProxyType[str, str | None] = MappingProxyType(
    {
        ODRL + "use": None,
        ODRL + "transfer": None,
        **{ODRL + name: ODRL + "use" for name in _ODRL_ACTIONS_IN_USE},
        ODRL + "give": ODRL + "transfer",
        ODRL + "sell": ODRL + "transfer",
        ETDS + "reidentify": ODRL + "use",
    }
)
USE = ODRL + "use"
DISTRIBUTE = ODRL + "distribute"
REIDENTIFY = ETDS + "reidentify"

# ODRL properties of policies, rules and constraints this library reads.
PERMISSION = ODRL + "permission"
PROHIBITION = ODRL + "prohibition"
OBLIGATION = ODRL + "obligation"
DUTY = ODRL + "duty"
ACTION = ODRL + "action"
CONSTRAINT = ODRL + "constraint"
TARGET = ODRL + "target"
ASSIGNER = ODRL + "assigner"
ASSIGNEE = ODRL + "assignee"
PROFILE = ODRL + "profile"
LEFT_OPERAND = ODRL + "leftOperand"
OPERATOR = ODRL + "operator"
RIGHT_OPERAND = ODRL + "rightOperand"
DATA_TYPE = ODRL + "dataType"
UNIT = ODRL + "unit"

# Terms the DSP 2025-1 ODRL profile defines as bare names (everything else is ``odrl:…``).
DSP_BARE_TERMS = frozenset(
    {"use", "Set", "Offer", "Agreement", *(op.value for op in Operator)}
    | {op.value for op in LogicalOperator}
)

# Bare names read as ODRL terms (see the module docstring); the left operands are listed in
# policies.operands, and any ODRL left operand name is accepted here so that an unknown one is
# reported with its ODRL IRI.
_BARE_ODRL = frozenset(
    {kind.value for kind in PolicyKind}
    | {"Policy", "Rule", "Permission", "Prohibition", "Duty", "Constraint", "LogicalConstraint"}
    | {op.value for op in Operator}
    | {iri.removeprefix(ODRL) for iri in ACTION_PARENTS if iri.startswith(ODRL)}
    | {
        "purpose",
        "dateTime",
        "elapsedTime",
        "spatial",
        "count",
        "recipient",
        "industry",
        "percentage",
        "fileFormat",
        "language",
        "version",
        "event",
        "delayPeriod",
        "deliveryChannel",
        "device",
        "meteredTime",
        "payAmount",
        "product",
        "relativePosition",
        "relativeSize",
        "relativeSpatialPosition",
        "relativeTemporalPosition",
        "resolution",
        "spatialCoordinates",
        "system",
        "systemDevice",
        "timeInterval",
        "unitOfCount",
        "virtualLocation",
        "absolutePosition",
        "absoluteSize",
        "absoluteSpatialPosition",
        "absoluteTemporalPosition",
    }
)
_ALIASES = MappingProxyType({"MembershipCredential": ETDS + "membership"})


def resolve_term(name: str) -> str:
    """The full IRI a term name stands for (unknown names are returned unchanged)."""
    if name in _BARE_ODRL:
        return ODRL + name
    alias = _ALIASES.get(name)
    if alias is not None:
        return alias
    prefix, sep, local = name.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return name


def compact_term(iri: str) -> str:
    """The stable short name of a term IRI in the DSP compact form (see the module docstring)."""
    if iri.startswith(ODRL):
        local = iri[len(ODRL) :]
        return local if local in DSP_BARE_TERMS else "odrl:" + local
    if iri.startswith(ETDS):
        return "etds:" + iri[len(ETDS) :]
    return iri


def prefixed_term(iri: str) -> str:
    """The ``odrl:``/``etds:`` name of a term IRI (the EDC management form and messages)."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and prefix in ("odrl", "etds"):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def action_includes(broader: str, narrower: str) -> bool:
    """True if ``narrower`` is ``broader`` or included in it (transitively)."""
    current: str | None = narrower
    seen: set[str] = set()
    while current is not None and current not in seen:
        if current == broader:
            return True
        seen.add(current)
        current = ACTION_PARENTS.get(current)
    return False
