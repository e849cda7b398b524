"""Checking constraints against a context: atomic constraints and ``and``/``or``/``xone``/
``andSequence``, with three-valued results (True, False, None = indeterminate).

An atomic constraint is indeterminate when its left operand is unknown, its operator does not
fit, the operand is not bound to the context's scope (*unbound*), its right operand cannot be
read, or the context lacks the value (*missing*). A logical constraint is indeterminate as soon
as one operand is (an unbound operand is never dropped, even inside ``or``); otherwise ``and``
and ``andSequence`` need every operand, ``or`` at least one, ``xone`` exactly one. Every
constraint leaves a :class:`~policies.decision.Reason` in order (a logical constraint before its
operands).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from policies import nuts
from policies.bindings import Missing, OperandRegistry
from policies.context import EvaluationContext
from policies.decision import Outcome, Reason
from policies.dpv import PurposeTaxonomy
from policies.model import Constraint, ConstraintLike, LogicalConstraint
from policies.operands import (
    REGION_OF_COMPETENCE,
    SPECS,
    OperandSpec,
    ValueKind,
    takes_single_value,
)
from policies.operators import compare_ordered, compare_sets
from policies.right_operands import Expected, check_data_type, describe, read_right_operand
from policies.values import Duration, render
from policies.vocabulary import OPERATORS_BY_IRI, LogicalOperator, Operator, compact_term

Tri = bool | None  # True, False, or indeterminate


def describe_constraint(constraint: ConstraintLike) -> str:
    """``odrl:elapsedTime lteq P12M``; logical constraints as ``or(…, …)``."""
    if isinstance(constraint, LogicalConstraint):
        inner = ", ".join(describe_constraint(item) for item in constraint.constraints)
        return f"{constraint.operator.value}({inner})"
    return (
        f"{compact_term(constraint.left_operand)} {compact_term(constraint.operator)} "
        f"{render(constraint.right_operand)}"
    )


@dataclass(frozen=True, slots=True)
class _Static:
    """What a constraint says, read once: names for reasons, and either the spec, operator and
    typed right operand, or the problem that makes it indeterminate in every scope."""

    name: str
    op_name: str
    shown: str
    wanted: str
    spec: OperandSpec | None
    operator: Operator | None
    expected: Expected | None
    problem: str | None


_CACHE_LIMIT = 4096


class ConstraintChecker:
    """Checks constraints with a registry of bindings and the DPV purposes.

    What a constraint says does not depend on the request, so it is read once and kept (in
    this checker, at most a few thousand constraints; policies are few).
    """

    def __init__(self, registry: OperandRegistry, taxonomy: PurposeTaxonomy) -> None:
        self._registry = registry
        self._taxonomy = taxonomy
        self._statics: dict[Constraint, _Static] = {}

    def _read(self, constraint: Constraint) -> _Static:
        name = compact_term(constraint.left_operand)
        op_name = compact_term(constraint.operator)
        shown = render(constraint.right_operand)
        spec = SPECS.get(constraint.left_operand)
        operator = OPERATORS_BY_IRI.get(constraint.operator)

        def static(problem: str | None, expected: Expected | None = None) -> _Static:
            wanted = f"{name} {op_name} {shown if expected is None else describe(expected)}"
            return _Static(name, op_name, shown, wanted, spec, operator, expected, problem)

        if spec is None:
            return static(f"unknown left operand {name!r}")
        if operator is None or operator not in spec.operators:
            return static(f"operator {op_name!r} does not apply to {name}")
        try:
            if takes_single_value(spec.kind, operator) and len(constraint.right_operand) != 1:
                raise ValueError(f"{operator.value} takes exactly one value")
            check_data_type(spec.kind, constraint.data_type)
            if constraint.unit is not None:
                raise ValueError("no unit is allowed")
            expected = read_right_operand(spec, constraint.right_operand, self._taxonomy)
        except ValueError as exc:
            return static(f"{name}: {exc}")
        return static(None, expected)

    def _static(self, constraint: Constraint) -> _Static:
        found = self._statics.get(constraint)
        if found is None:
            if len(self._statics) >= _CACHE_LIMIT:
                self._statics.clear()
            found = self._statics[constraint] = self._read(constraint)
        return found

    def _compare(self, static: _Static, actual: object, context: EvaluationContext) -> bool:
        operator, expected, kind = static.operator, static.expected, static.spec
        if operator is None or kind is None:
            raise ValueError("the constraint cannot be compared")
        if isinstance(expected, Duration) and isinstance(actual, datetime):
            # elapsed ⋈ d  ⇔  now ⋈ signed_at + d (exact, with calendar months)
            return compare_ordered(operator, context.now, expected.after(actual))
        if isinstance(expected, datetime) and isinstance(actual, datetime):
            return compare_ordered(operator, actual, expected)
        if isinstance(expected, int) and isinstance(actual, int):
            return compare_ordered(operator, actual, expected)
        if not isinstance(actual, tuple) or not isinstance(expected, tuple):
            raise ValueError("the actual and expected values do not compare")
        if kind.kind is ValueKind.PURPOSE:
            return compare_sets(operator, actual, expected, broader=self._taxonomy.is_a)
        if kind.kind is ValueKind.REGION:
            return compare_sets(operator, actual, expected, within=nuts.contains)
        return compare_sets(operator, actual, expected)

    def _atomic(
        self, constraint: Constraint, rule: str, path: str, context: EvaluationContext
    ) -> tuple[Tri, Reason]:
        static = self._static(constraint)

        def reason(outcome: Outcome, message: str, actual: str | None = None) -> Reason:
            return Reason(
                rule, path, outcome, message, static.name, static.op_name, static.shown, actual
            )

        if static.problem is not None or static.spec is None:
            return None, reason(Outcome.UNKNOWN, static.problem or "unknown left operand")
        binding = self._registry.bound(constraint.left_operand, context.scope)
        if binding is None:
            message = f"{static.name} cannot be evaluated in the {context.scope} scope"
            return None, reason(Outcome.UNBOUND, message)
        observed = binding.observe(context)
        wanted = static.wanted
        # Data-shaping terms read the context only for the region of competence.
        needs_value = not static.spec.enforced or (
            isinstance(static.expected, tuple) and REGION_OF_COMPETENCE in static.expected
        )
        if isinstance(observed, Missing) and needs_value:
            return None, reason(Outcome.MISSING, f"{wanted}: {observed.message}")
        if static.spec.enforced or isinstance(observed, Missing):
            return True, reason(Outcome.ENFORCED, f"{wanted}: applied by the enforcement plan")
        try:
            result = self._compare(static, observed.value, context)
        except (ValueError, OverflowError) as exc:
            return None, reason(Outcome.UNKNOWN, f"{wanted}: {exc}", observed.text)
        verdict, outcome = (
            ("satisfied", Outcome.SATISFIED) if result else ("not satisfied", Outcome.VIOLATED)
        )
        return result, reason(outcome, f"{wanted}: {verdict} by {observed.text}", observed.text)

    def _logical(
        self,
        constraint: LogicalConstraint,
        rule: str,
        path: str,
        context: EvaluationContext,
        reasons: list[Reason],
    ) -> Tri:
        operator = constraint.operator
        slot = len(reasons)
        results = [
            self.check(item, rule, f"{path}.{operator.value}[{index}]", context, reasons)
            for index, item in enumerate(constraint.constraints)
        ]
        satisfied = sum(1 for item in results if item is True)
        tri: Tri
        if len(results) < 2 or any(item is None for item in results):
            tri = None
        elif operator is LogicalOperator.OR:
            tri = satisfied > 0
        elif operator is LogicalOperator.XONE:
            tri = satisfied == 1
        else:
            tri = satisfied == len(results)
        outcome = {None: Outcome.UNKNOWN, True: Outcome.SATISFIED, False: Outcome.VIOLATED}[tri]
        message = f"{operator.value}: {satisfied} of {len(results)} satisfied"
        if len(results) < 2:
            message += " (a logical constraint needs at least two constraints)"
        elif tri is None:
            message += ", some indeterminate"
        reasons.insert(slot, Reason(rule, path, outcome, message, operator=operator.value))
        return tri

    def check(
        self,
        constraint: ConstraintLike,
        rule: str,
        path: str,
        context: EvaluationContext,
        reasons: list[Reason],
    ) -> Tri:
        """The truth value of one constraint; appends its reasons to ``reasons``."""
        if isinstance(constraint, LogicalConstraint):
            return self._logical(constraint, rule, path, context, reasons)
        result, reason = self._atomic(constraint, rule, path, context)
        reasons.append(reason)
        return result

    def check_all(
        self,
        constraints: tuple[ConstraintLike, ...],
        rule: str,
        context: EvaluationContext,
        reasons: list[Reason],
    ) -> Tri:
        """The conjunction of a rule's constraints (indeterminate if any one is)."""
        results = [
            self.check(item, rule, f"{rule}.constraint[{index}]", context, reasons)
            for index, item in enumerate(constraints)
        ]
        if any(item is None for item in results):
            return None
        return all(results)
