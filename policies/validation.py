"""Definition-time validation: a policy with anything this node cannot evaluate is refused.

Refused, each with the path and the term: an unknown action, left operand or operator; an
operator that does not fit its left operand (``dateTime isA …``); a right operand of the wrong
type or shape (``dateTime`` with a non-date, ``count`` with a non-integer, ``spatial`` with a
non-NUTS IRI, several values where one is expected); a ``dataType`` that does not fit, any
``unit``; a logical constraint with fewer than two operands; a data-shaping term
(:data:`~policies.operands.SPECS` marked ``enforced``) anywhere but in a permission's
conjunction (the enforcement plan cannot apply a disjunction or a prohibition of them); an
Offer without ``@id``; an Agreement without ``@id``, target, assigner or assignee; a policy
without any permission (it would deny every request).

``check_policy`` lists the issues; ``validate_policy`` raises
:class:`~policies.errors.PolicyValidationError` with all of them.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.dpv import PurposeTaxonomy, load_dpv_purposes
from policies.errors import Issue, PolicyValidationError
from policies.model import Constraint, ConstraintLike, Duty, Policy
from policies.operands import SPECS, takes_single_value
from policies.right_operands import check_data_type, read_right_operand
from policies.vocabulary import (
    ACTION_PARENTS,
    OPERATORS_BY_IRI,
    LogicalOperator,
    PolicyKind,
    compact_term,
)

_DISJUNCTIONS = frozenset({LogicalOperator.OR, LogicalOperator.XONE})


def _atomic(
    constraint: Constraint, path: str, *, shaping_allowed: bool, taxonomy: PurposeTaxonomy
) -> Iterator[Issue]:
    spec = SPECS.get(constraint.left_operand)
    name = compact_term(constraint.left_operand)
    operator = OPERATORS_BY_IRI.get(constraint.operator)
    if spec is None:
        yield Issue(f"{path}.leftOperand", name, f"unknown left operand {name!r}")
    if operator is None:
        op_name = compact_term(constraint.operator)
        yield Issue(f"{path}.operator", op_name, f"unknown operator {op_name!r}")
    if spec is None or operator is None:
        return
    if operator not in spec.operators:
        allowed = ", ".join(sorted(op.value for op in spec.operators))
        yield Issue(
            f"{path}.operator",
            operator.value,
            f"operator {operator.value!r} does not apply to {name} (use one of {allowed})",
        )
        return
    if spec.enforced and not shaping_allowed:
        yield Issue(
            f"{path}.leftOperand",
            name,
            f"{name} shapes the delivered data: it belongs in a permission, outside or/xone",
        )
    count = len(constraint.right_operand)
    if takes_single_value(spec.kind, operator) and count != 1:
        yield Issue(
            f"{path}.rightOperand",
            name,
            f"{name} {operator.value} takes exactly one value, got {count}",
        )
        return
    try:
        check_data_type(spec.kind, constraint.data_type)
    except ValueError as exc:
        yield Issue(f"{path}.dataType", constraint.data_type, str(exc))
    if constraint.unit is not None:
        yield Issue(f"{path}.unit", constraint.unit, f"{name} takes no unit")
    try:
        read_right_operand(spec, constraint.right_operand, taxonomy)
    except ValueError as exc:
        yield Issue(f"{path}.rightOperand", name, f"{name}: {exc}")


def _constraint(
    constraint: ConstraintLike, path: str, *, shaping_allowed: bool, taxonomy: PurposeTaxonomy
) -> Iterator[Issue]:
    if isinstance(constraint, Constraint):
        yield from _atomic(constraint, path, shaping_allowed=shaping_allowed, taxonomy=taxonomy)
        return
    operator = constraint.operator
    if len(constraint.constraints) < 2:
        yield Issue(
            path,
            operator.value,
            f"a logical constraint '{operator.value}' needs at least two constraints, "
            f"got {len(constraint.constraints)}",
        )
    inner_allowed = shaping_allowed and operator not in _DISJUNCTIONS
    for index, item in enumerate(constraint.constraints):
        yield from _constraint(
            item,
            f"{path}.{operator.value}[{index}]",
            shaping_allowed=inner_allowed,
            taxonomy=taxonomy,
        )


def _rule(
    action: str,
    constraints: tuple[ConstraintLike, ...],
    path: str,
    *,
    shaping_allowed: bool,
    taxonomy: PurposeTaxonomy,
) -> Iterator[Issue]:
    if action not in ACTION_PARENTS:
        name = compact_term(action)
        yield Issue(f"{path}.action", name, f"unknown action {name!r}")
    for index, constraint in enumerate(constraints):
        yield from _constraint(
            constraint,
            f"{path}.constraint[{index}]",
            shaping_allowed=shaping_allowed,
            taxonomy=taxonomy,
        )


def _duties(duties: tuple[Duty, ...], path: str, taxonomy: PurposeTaxonomy) -> Iterator[Issue]:
    for index, duty in enumerate(duties):
        yield from _rule(
            duty.action,
            duty.constraints,
            f"{path}[{index}]",
            shaping_allowed=False,
            taxonomy=taxonomy,
        )


def _policy_level(policy: Policy) -> Iterator[Issue]:
    required: list[str] = []
    if policy.kind in (PolicyKind.OFFER, PolicyKind.AGREEMENT) and not policy.uid:
        required.append("@id")
    if policy.kind is PolicyKind.AGREEMENT:
        required.extend(
            name for name in ("target", "assigner", "assignee") if not getattr(policy, name)
        )
    for name in required:
        yield Issue(name, name, f"an {policy.kind.value} needs {name}")
    if not policy.permissions:
        yield Issue("permission", None, "the policy has no permission: it would deny every request")


def check_policy(policy: Policy, *, taxonomy: PurposeTaxonomy | None = None) -> tuple[Issue, ...]:
    """Every reason to refuse ``policy`` (empty when it is acceptable)."""
    purposes = taxonomy if taxonomy is not None else load_dpv_purposes()
    issues = list(_policy_level(policy))
    for index, permission in enumerate(policy.permissions):
        path = f"permission[{index}]"
        issues.extend(
            _rule(
                permission.action,
                permission.constraints,
                path,
                shaping_allowed=True,
                taxonomy=purposes,
            )
        )
        issues.extend(_duties(permission.duties, f"{path}.duty", purposes))
    for index, prohibition in enumerate(policy.prohibitions):
        issues.extend(
            _rule(
                prohibition.action,
                prohibition.constraints,
                f"prohibition[{index}]",
                shaping_allowed=False,
                taxonomy=purposes,
            )
        )
    issues.extend(_duties(policy.obligations, "obligation", purposes))
    return tuple(issues)


def validate_policy(policy: Policy, *, taxonomy: PurposeTaxonomy | None = None) -> Policy:
    """``policy`` itself when acceptable; else PolicyValidationError listing every issue."""
    issues = check_policy(policy, taxonomy=taxonomy)
    if issues:
        raise PolicyValidationError(issues)
    return policy
