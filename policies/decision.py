"""The result of an evaluation: allowed or not, and why, constraint by constraint.

A :class:`Reason` names the rule (``permission[0]``), the constraint by its path
(``permission[0].constraint[1]``, ``…constraint[0].or[1]``), the left operand, the operator, the
expected and the actual value, and an :class:`Outcome`. Three outcomes are *indeterminate*
(``unbound``: the operand cannot be evaluated in this scope; ``unknown``: a term or value the
evaluator does not understand; ``missing``: the context lacks the value, e.g. a claim). An
indeterminate outcome anywhere in a rule makes the whole rule indeterminate: a permission is
then not granted and a prohibition applies. ``enforced`` marks data-shaping terms handed to the
enforcement plan; they count as satisfied here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from policies.context import Scope


class Outcome(StrEnum):
    SATISFIED = "satisfied"
    VIOLATED = "violated"
    ENFORCED = "enforced"
    UNBOUND = "unbound"
    UNKNOWN = "unknown"
    MISSING = "missing"

    @property
    def indeterminate(self) -> bool:
        return self in (Outcome.UNBOUND, Outcome.UNKNOWN, Outcome.MISSING)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one constraint (or rule, or policy-level check) came out as it did."""

    rule: str
    path: str
    outcome: Outcome
    message: str
    left_operand: str | None = None
    operator: str | None = None
    expected: str | None = None
    actual: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "path": self.path,
            "outcome": self.outcome.value,
            "leftOperand": self.left_operand,
            "operator": self.operator,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Term:
    """A term the consumer accepts without the node checking it now: a duty, an obligation, or a
    prohibition of an action other than the one requested (contractual only)."""

    rule: str
    action: str
    kind: str  # "duty" | "obligation" | "prohibition"
    conditions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "action": self.action,
            "kind": self.kind,
            "conditions": list(self.conditions),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """``allowed`` and the reasons; ``granted_by`` is the permission that allowed the request
    (the first satisfied one, in document order); ``enforced`` the data-shaping constraints of
    that permission; ``contractual`` the duties, obligations and other prohibitions recorded in
    the policy that this decision does not (and cannot) check."""

    allowed: bool
    scope: Scope
    action: str
    reasons: tuple[Reason, ...]
    granted_by: str | None = None
    enforced: tuple[Reason, ...] = ()
    contractual: tuple[Term, ...] = ()

    def summary(self) -> str:
        """One line: the verdict and the first reasons that explain it."""
        wanted = (
            (Outcome.SATISFIED, Outcome.ENFORCED)
            if self.allowed
            else (Outcome.VIOLATED, Outcome.UNBOUND, Outcome.UNKNOWN, Outcome.MISSING)
        )
        messages = [reason.message for reason in self.reasons if reason.outcome in wanted]
        verdict = "allowed" if self.allowed else "denied"
        return f"{verdict}: " + ("; ".join(messages[:3]) if messages else "no reason recorded")

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "scope": self.scope.value,
            "action": self.action,
            "grantedBy": self.granted_by,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "enforced": [reason.to_dict() for reason in self.enforced],
            "contractual": [term.to_dict() for term in self.contractual],
        }
