"""What each operator means, on the two shapes of value this library compares.

*Ordered values* (date-times, integers; durations are compared through a deadline, see
:mod:`policies.evaluation`): ``eq neq gt gteq lt lteq`` as usual.

*Sets of terms* (the requester's regions, its membership, organisation type, participant id, the
declared purpose: a one-element set when the value is single): with ``A`` the actual values and
``E`` the right operand's values,

- ``eq``: A = E; ``neq``: A ≠ E;
- ``isAnyOf``: A ∩ E ≠ ∅; ``isNoneOf``: A ∩ E = ∅; ``isAllOf``: E ⊆ A;
- ``isA`` (one value e): every a ∈ A is e or narrower (``broader`` relation, e.g. DPV);
- ``isPartOf``: every a ∈ A lies within some e ∈ E; ``hasPart``: every e ∈ E lies within some
  a ∈ A (``within`` relation, e.g. NUTS prefixes).

An empty ``A`` (the requester lacks the claim) never reaches these functions: the evaluator
reports it as a missing value, which denies whatever the operator (even ``isNoneOf``).
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Collection
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from policies.vocabulary import Operator

Ordered = TypeVar("Ordered", int, datetime)
Relation = Callable[[str, str], bool]

_ORDERED: MappingProxyType[Operator, Callable[[Any, Any], bool]] = MappingProxyType(
    {
        Operator.EQ: op.eq,
        Operator.NEQ: op.ne,
        Operator.LT: op.lt,
        Operator.LTEQ: op.le,
        Operator.GT: op.gt,
        Operator.GTEQ: op.ge,
    }
)
_SETS: MappingProxyType[Operator, Callable[[frozenset[str], frozenset[str]], bool]] = (
    MappingProxyType(
        {
            Operator.EQ: lambda a, e: a == e,
            Operator.NEQ: lambda a, e: a != e,
            Operator.IS_ANY_OF: lambda a, e: not a.isdisjoint(e),
            Operator.IS_NONE_OF: lambda a, e: a.isdisjoint(e),
            Operator.IS_ALL_OF: lambda a, e: e <= a,
        }
    )
)


def compare_ordered(operator: Operator, actual: Ordered, expected: Ordered) -> bool:
    """``actual operator expected`` for ordered values (ValueError for set operators)."""
    compare = _ORDERED.get(operator)
    if compare is None:
        raise ValueError(f"operator {operator.value} does not compare ordered values")
    return compare(actual, expected)


def compare_sets(
    operator: Operator,
    actual: Collection[str],
    expected: Collection[str],
    *,
    broader: Relation | None = None,
    within: Relation | None = None,
) -> bool:
    """``actual operator expected`` on sets of terms (see the module docstring).

    ``broader(a, e)`` answers "is a the same as or narrower than e" (for ``isA``);
    ``within(e, a)`` answers "does region e contain a" (for ``isPartOf``/``hasPart``).
    """
    a, e = frozenset(actual), frozenset(expected)
    if not a or not e:
        raise ValueError("set comparisons need at least one actual and one expected value")
    simple = _SETS.get(operator)
    if simple is not None:
        return simple(a, e)
    if operator is Operator.IS_A and broader is not None and len(e) == 1:
        (target,) = e
        return all(broader(item, target) for item in a)
    if operator is Operator.IS_PART_OF and within is not None:
        return all(any(within(outer, item) for outer in e) for item in a)
    if operator is Operator.HAS_PART and within is not None:
        return all(any(within(outer, part) for outer in a) for part in e)
    raise ValueError(f"operator {operator.value} does not apply to these values")
