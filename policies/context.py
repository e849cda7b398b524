"""What an evaluation knows about the request: scope, requester claims, time, agreement facts.

The claims are the verified claims of the requester's access token, passed as a plain mapping:
``sub`` (participant id), ``membership`` (``"active"``…), ``org_type``, ``country`` (ISO 3166-1
alpha-2), ``nuts`` (regions of competence), ``scope``. Nothing here is read from a message a
peer wrote about itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from policies.vocabulary import USE


class Scope(StrEnum):
    """Where a policy is evaluated; each left operand says in which scopes it can be."""

    CATALOG = "catalog"
    NEGOTIATION = "negotiation"
    TRANSFER = "transfer"
    DATAPLANE = "dataplane"


@dataclass(frozen=True, slots=True)
class AgreementFacts:
    """The agreement a transfer or data-plane request runs under."""

    agreement_id: str
    signed_at: datetime

    def __post_init__(self) -> None:
        if self.signed_at.tzinfo is None:
            raise ValueError("AgreementFacts.signed_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """Everything an evaluation may look at.

    - ``scope``: where the policy is evaluated;
    - ``claims``: the requester's verified token claims (``sub`` is its participant id);
    - ``now``: the time of the request (timezone-aware; the caller's clock, so tests fix it);
    - ``action``: the action requested (``odrl:use`` unless said otherwise);
    - ``purpose``: the purpose the requester declared (a DPV purpose IRI), if any. At transfer
      and data-plane time pass the purpose recorded when the agreement was negotiated;
    - ``agreement``: the agreement's id and signing time, when there is one;
    - ``transfer_count``: transfers started under the agreement, counting the one being
      requested (at transfer start) or served (on the data plane);
    - ``target``: the asset the request is about, checked against the policy's target.
    """

    scope: Scope
    claims: Mapping[str, Any]
    now: datetime
    action: str = USE
    purpose: str | None = None
    agreement: AgreementFacts | None = None
    transfer_count: int | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("EvaluationContext.now must be timezone-aware")
        if self.transfer_count is not None and self.transfer_count < 0:
            raise ValueError("EvaluationContext.transfer_count must not be negative")
        # A private copy: the caller's mapping may change after the context is built.
        object.__setattr__(self, "claims", MappingProxyType(dict(self.claims)))

    @property
    def participant_id(self) -> str | None:
        """The requester's participant id (the ``sub`` claim)."""
        sub = self.claims.get("sub")
        return sub if isinstance(sub, str) and sub else None
