"""The data-shaping terms of the permission that granted a request, combined into one set.

A permission may state each term several times (in its constraints and in nested ``and``s);
they all hold, so they combine: thresholds and granularities by their strictest bound
(``gteq 3`` and ``gt 4`` → 5; ``gteq departement`` and ``eq region`` → region), column lists
must agree, row-region restrictions all apply (a row must lie in one region of each).
A combination that no value satisfies (``eq 3`` with ``gteq 5``; ``eq region`` with
``eq country``; two different column lists) is an :class:`EnforcementError`, as is a term
inside ``or``/``xone`` (it cannot be applied without knowing which branch holds) or a region of
competence the requester's claims do not give.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policies import nuts
from policies.dpv import PurposeTaxonomy
from policies.errors import EnforcementError
from policies.model import Constraint, ConstraintLike, LogicalConstraint, Permission
from policies.nuts import Granularity
from policies.operands import REGION_OF_COMPETENCE, SPECS, ValueKind
from policies.right_operands import read_right_operand
from policies.vocabulary import OPERATORS_BY_IRI, LogicalOperator, Operator

_CONJUNCTIONS = frozenset({LogicalOperator.AND, LogicalOperator.AND_SEQUENCE})


@dataclass(frozen=True, slots=True)
class EnforcementTerms:
    """What the delivered data must look like.

    - ``threshold``: minimum count per published group (None: no threshold);
    - ``columns``: the columns the consumer may receive (None: no column restriction);
    - ``granularity``: the finest geography delivered (None: no restriction);
    - ``row_regions``: each inner tuple lists NUTS codes, and a row must lie within one code of
      every tuple (empty: no row restriction).
    """

    threshold: int | None = None
    columns: tuple[str, ...] | None = None
    granularity: Granularity | None = None
    row_regions: tuple[tuple[str, ...], ...] = ()


def _shaping(
    constraints: tuple[ConstraintLike, ...], path: str
) -> Iterator[tuple[str, Constraint]]:
    for index, constraint in enumerate(constraints):
        where = f"{path}[{index}]"
        if isinstance(constraint, LogicalConstraint):
            inner = list(_shaping(constraint.constraints, f"{where}.{constraint.operator.value}"))
            if inner and constraint.operator not in _CONJUNCTIONS:
                raise EnforcementError(
                    f"{where}: data-shaping terms inside '{constraint.operator.value}' cannot "
                    "be enforced"
                )
            yield from inner
        else:
            spec = SPECS.get(constraint.left_operand)
            if spec is not None and spec.enforced:
                yield where, constraint


@dataclass
class _Bounds:
    """Lower bound and exact values of an ordered term, as constraints add them."""

    lower: int | None = None
    exact: int | None = None

    def add(self, operator: Operator, value: int, where: str) -> None:
        if operator is Operator.EQ:
            if self.exact is not None and self.exact != value:
                raise EnforcementError(f"{where}: contradicts another constraint on the term")
            self.exact = value
            return
        bound = value + 1 if operator is Operator.GT else value
        self.lower = bound if self.lower is None else max(self.lower, bound)

    def resolve(self, where: str) -> int | None:
        if self.exact is not None and self.lower is not None and self.exact < self.lower:
            raise EnforcementError(f"{where}: no value satisfies every constraint on the term")
        return self.exact if self.exact is not None else self.lower


def collect_terms(
    permission: Permission,
    path: str,
    claims: Mapping[str, Any],
    taxonomy: PurposeTaxonomy,
) -> EnforcementTerms:
    """The combined data-shaping terms of ``permission`` (found at ``path``) for a requester."""
    threshold = _Bounds()
    # Granularity levels run from 3 (departement) down to 0 (country); coarser is smaller, so a
    # lower bound on coarseness is bounded through the negated level.
    coarseness = _Bounds()
    columns: tuple[str, ...] | None = None
    row_regions: list[tuple[str, ...]] = []
    for where, constraint in _shaping(permission.constraints, f"{path}.constraint"):
        spec = SPECS[constraint.left_operand]
        operator = OPERATORS_BY_IRI.get(constraint.operator)
        if operator is None or operator not in spec.operators:
            raise EnforcementError(f"{where}: operator does not apply to this term")
        try:
            value = read_right_operand(spec, constraint.right_operand, taxonomy)
        except ValueError as exc:
            raise EnforcementError(f"{where}: {exc}") from None
        if spec.kind is ValueKind.THRESHOLD and isinstance(value, int):
            threshold.add(operator, value, where)
        elif spec.kind is ValueKind.GRANULARITY and isinstance(value, Granularity):
            coarseness.add(operator, -int(value), where)
        elif spec.kind is ValueKind.COLUMNS and isinstance(value, tuple):
            if columns is not None and set(columns) != set(value):
                raise EnforcementError(f"{where}: contradicts another list of allowed columns")
            columns = columns or value
        elif spec.kind is ValueKind.ROW_REGION and isinstance(value, tuple):
            row_regions.append(_regions(value, claims, where))
    coarse = coarseness.resolve(f"{path} (spatialGranularity)")
    if coarse is not None and coarse > -Granularity.COUNTRY:
        raise EnforcementError(f"{path}: no spatial granularity is coarser than country")
    return EnforcementTerms(
        threshold=threshold.resolve(f"{path} (aggregationThreshold)"),
        columns=columns,
        granularity=None if coarse is None else Granularity(-coarse),
        row_regions=tuple(row_regions),
    )


def _regions(values: tuple[str, ...], claims: Mapping[str, Any], where: str) -> tuple[str, ...]:
    codes: list[str] = []
    for value in values:
        if value != REGION_OF_COMPETENCE:
            codes.append(value)
            continue
        try:
            claimed = nuts.claimed_regions(claims)
        except ValueError as exc:
            raise EnforcementError(f"{where}: {exc}") from None
        if not claimed:
            raise EnforcementError(f"{where}: the requester has no region of competence")
        codes.extend(claimed)
    return tuple(dict.fromkeys(codes))
