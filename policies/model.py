"""The typed ODRL 2.2 model: policies, rules, constraints and right-operand values.

Plain frozen dataclasses, built by :mod:`policies.jsonld` from any JSON-LD form and written back
by it. They hold what a document says, not what it means: vocabulary terms are full IRIs (an
unknown term keeps the IRI it was written with, so that validation can name it), right operands
keep their literal form and datatype. Meaning is given by :mod:`policies.validation` (is this
policy acceptable?), :mod:`policies.evaluation` (is this request allowed?) and
:mod:`policies.enforcement` (what may this consumer receive?).

Scope of the model: a policy has one type (Set, Offer, Agreement), at most one target, assigner
and assignee (IRIs), profiles, permissions (with duties), prohibitions and obligations; a rule
has exactly one action (no refinements: the DSP 2025-1 schema requires ``action`` to be a
string) and constraints. Anything else ODRL allows (rule-level parties, ``inheritFrom``,
``conflict``, consequences, remedies, ``rightOperandReference``) is refused by the parser rather
than ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.vocabulary import LogicalOperator, PolicyKind

LiteralValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal right-operand value, with its datatype IRI when the document gave one."""

    value: LiteralValue
    datatype: str | None = None

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Iri:
    """An IRI right-operand value (``{"@id": …}`` in JSON-LD)."""

    value: str

    def __str__(self) -> str:
        return self.value


RightValue = Literal | Iri


@dataclass(frozen=True, slots=True)
class Constraint:
    """An atomic constraint: ``left_operand operator right_operand``.

    ``right_operand`` holds every value of ``odrl:rightOperand`` in document order (one for
    ``eq``, several for ``isAnyOf``…). ``data_type`` and ``unit`` are ODRL's optional
    ``odrl:dataType`` and ``odrl:unit`` (IRIs).
    """

    left_operand: str
    operator: str
    right_operand: tuple[RightValue, ...]
    data_type: str | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class LogicalConstraint:
    """``and``, ``or``, ``xone`` or ``andSequence`` over constraints (which may nest)."""

    operator: LogicalOperator
    constraints: tuple[ConstraintLike, ...]


ConstraintLike = Constraint | LogicalConstraint


@dataclass(frozen=True, slots=True)
class Duty:
    """A duty of a permission, or a policy-level obligation."""

    action: str
    constraints: tuple[ConstraintLike, ...] = ()


@dataclass(frozen=True, slots=True)
class Permission:
    action: str
    constraints: tuple[ConstraintLike, ...] = ()
    duties: tuple[Duty, ...] = ()


@dataclass(frozen=True, slots=True)
class Prohibition:
    action: str
    constraints: tuple[ConstraintLike, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    """An ODRL policy. ``uid`` is its ``@id`` (an Offer or Agreement needs one)."""

    kind: PolicyKind
    uid: str | None = None
    target: str | None = None
    assigner: str | None = None
    assignee: str | None = None
    profiles: tuple[str, ...] = ()
    permissions: tuple[Permission, ...] = ()
    prohibitions: tuple[Prohibition, ...] = ()
    obligations: tuple[Duty, ...] = ()
