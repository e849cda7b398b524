"""Left-operand functions: where each operand's actual value comes from, per scope.

An :class:`OperandRegistry` binds each left operand (by IRI) to a function that reads the
actual value from the :class:`~policies.context.EvaluationContext`, and to the scopes it may be
evaluated in (by default the scopes its :class:`~policies.operands.OperandSpec` declares). The
evaluator asks the registry for ``(operand, scope)``; no binding means the constraint is
*unbound* in that scope, which denies. Registries are immutable:
:meth:`OperandRegistry.with_binding` returns a new one (a node can restrict an operand to fewer
scopes, or add its own operand).

Where the default functions look (claims are the verified token claims):

======================== ===============================================================
``odrl:purpose``          the declared purpose (``context.purpose``)
``odrl:dateTime``         ``context.now``
``odrl:elapsedTime``      the agreement's signing time (while negotiating: now, i.e. zero)
``odrl:spatial``          claim ``nuts`` (list of NUTS codes), else claim ``country``
``odrl:count``            ``context.transfer_count`` (while negotiating: 0)
``odrl:recipient``        claim ``sub``
``etds:membership``       claim ``membership``
``etds:organisationType`` claim ``org_type``
``etds:rowRegion``        claim ``nuts`` (needed when the rows are limited to the region of
                          competence); the other data-shaping operands read nothing here
======================== ===============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from policies import nuts
from policies.context import EvaluationContext, Scope
from policies.operands import SPECS, OperandSpec
from policies.vocabulary import ETDS, ODRL, resolve_term


@dataclass(frozen=True, slots=True)
class Observed:
    """The actual value of a left operand, and how to show it."""

    value: Any
    text: str


@dataclass(frozen=True, slots=True)
class Missing:
    """The context does not hold the value (e.g. the requester lacks the claim)."""

    message: str


Observer = Callable[[EvaluationContext], Observed | Missing]


@dataclass(frozen=True, slots=True)
class Binding:
    spec: OperandSpec
    observe: Observer
    scopes: frozenset[Scope]


class OperandRegistry:
    """Left operand IRI → binding (immutable)."""

    def __init__(self, bindings: Iterable[Binding]) -> None:
        self._bindings: Mapping[str, Binding] = MappingProxyType(
            {binding.spec.iri: binding for binding in bindings}
        )

    def bound(self, iri: str, scope: Scope) -> Binding | None:
        """The binding of ``iri`` if it can be evaluated in ``scope``."""
        binding = self._bindings.get(iri)
        return binding if binding is not None and scope in binding.scopes else None

    def with_binding(self, binding: Binding) -> OperandRegistry:
        return OperandRegistry([*self._bindings.values(), binding])

    def __iter__(self) -> Iterator[Binding]:
        return iter(self._bindings.values())


def _terms(raw: Any) -> tuple[str, ...] | None:
    """A claim as a tuple of non-empty strings (a string or a list of them), else None."""
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)) or not items:
        return None
    if not all(isinstance(item, str) and item for item in items):
        return None
    return tuple(dict.fromkeys(items))


def _claim(name: str) -> Observer:
    def observe(context: EvaluationContext) -> Observed | Missing:
        terms = _terms(context.claims.get(name))
        if terms is None:
            return Missing(f"the requester has no usable '{name}' claim")
        return Observed(terms, ", ".join(terms))

    return observe


def _purpose(context: EvaluationContext) -> Observed | Missing:
    if not context.purpose:
        return Missing("no purpose was declared")
    purpose = resolve_term(context.purpose)
    return Observed((purpose,), purpose)


def _now(context: EvaluationContext) -> Observed | Missing:
    return Observed(context.now, context.now.isoformat())


def _signed_at(context: EvaluationContext) -> Observed | Missing:
    if context.agreement is not None:
        signed: datetime = context.agreement.signed_at
        return Observed(signed, f"{context.now - signed} since {signed.isoformat()}")
    if context.scope is Scope.NEGOTIATION:
        return Observed(context.now, "0 (the agreement is being negotiated)")
    return Missing("no agreement: elapsed time cannot be measured")


def _spatial(context: EvaluationContext) -> Observed | Missing:
    try:
        regions = nuts.requester_regions(context.claims)
    except ValueError as exc:
        return Missing(str(exc))
    if not regions:
        return Missing("the requester has no 'nuts' or 'country' claim")
    return Observed(regions, ", ".join(regions))


def _count(context: EvaluationContext) -> Observed | Missing:
    if context.transfer_count is not None:
        return Observed(context.transfer_count, str(context.transfer_count))
    if context.scope is Scope.NEGOTIATION:
        return Observed(0, "0 (no transfer before the agreement)")
    return Missing("the number of transfers under the agreement is not known")


def _recipient(context: EvaluationContext) -> Observed | Missing:
    participant = context.participant_id
    if participant is None:
        return Missing("the requester has no 'sub' claim")
    return Observed((participant,), participant)


def _competence(context: EvaluationContext) -> Observed | Missing:
    try:
        regions = nuts.claimed_regions(context.claims)
    except ValueError as exc:
        return Missing(str(exc))
    if not regions:
        return Missing("the requester has no region of competence (claim 'nuts')")
    return Observed(regions, ", ".join(regions))


def _shaping(context: EvaluationContext) -> Observed | Missing:
    return Observed(None, "applied by the enforcement plan")


_OBSERVERS: Mapping[str, Observer] = MappingProxyType(
    {
        ODRL + "purpose": _purpose,
        ODRL + "dateTime": _now,
        ODRL + "elapsedTime": _signed_at,
        ODRL + "spatial": _spatial,
        ODRL + "count": _count,
        ODRL + "recipient": _recipient,
        ETDS + "membership": _claim("membership"),
        ETDS + "organisationType": _claim("org_type"),
        ETDS + "rowRegion": _competence,
        ETDS + "aggregationThreshold": _shaping,
        ETDS + "allowedColumns": _shaping,
        ETDS + "spatialGranularity": _shaping,
    }
)


def default_registry() -> OperandRegistry:
    """Every operand of :data:`~policies.operands.SPECS`, bound in the scopes it declares."""
    return OperandRegistry(
        Binding(spec, _OBSERVERS[iri], spec.scopes) for iri, spec in SPECS.items()
    )
