"""Errors of the policy library. Every one is a :class:`ValueError` (bad input, never a crash)::

    PolicyError
     ├── PolicySyntaxError        the document is not an ODRL policy this library can read
     ├── PolicyValidationError    the policy is readable but refused (unknown term, wrong value…)
     └── EnforcementError         no enforcement plan can be built for this data (fail closed)
          └── EnforcementDenied   the policy denies the request the plan was asked for

Each names where the problem is, as a path into the policy such as
``permission[0].constraint[1].leftOperand``; the HTTP layer decides what a peer may see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policies.decision import Decision


class PolicyError(ValueError):
    """Base class of every error of :mod:`policies`."""


class PolicySyntaxError(PolicyError):
    """The document cannot be read as an ODRL policy (at ``path``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Issue:
    """One reason a policy is refused: where, which term, what is wrong."""

    path: str
    term: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class PolicyValidationError(PolicyError):
    """The policy is refused; ``issues`` lists every problem found (at least one)."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = tuple(issues)
        if not self.issues:
            raise ValueError("PolicyValidationError needs at least one issue")
        super().__init__("; ".join(str(issue) for issue in self.issues))


class EnforcementError(PolicyError):
    """No enforcement plan can be built (unknown column, policy the data cannot satisfy…)."""


class EnforcementDenied(EnforcementError):
    """The policy does not allow the request the enforcement plan was asked for."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("the policy denies this request: " + decision.summary())
        self.decision = decision
