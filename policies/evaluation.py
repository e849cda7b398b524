"""Evaluation: a policy and a context give a :class:`~policies.decision.Decision`, with reasons.

Rules, in order:

1. Policy-level checks: when the policy names an ``assignee`` the requester (claim ``sub``) must
   be it; when both the policy and the context name a target they must be the same.
2. A permission *applies* when its action includes the requested action (``use`` includes
   ``read``; ``read`` does not include ``use``). It *grants* when all its constraints are
   satisfied (:mod:`policies.checking`: an operand not bound to the context's scope, an unknown
   term or a missing value is indeterminate, and an indeterminate permission does not grant).
3. A prohibition whose action includes the requested action *applies* unless its constraints
   are definitely not satisfied (indeterminate ⇒ it applies); an applying prohibition denies.
   A prohibition of another action (``distribute``, ``etds:reidentify`` while ``use`` is
   requested) cannot be checked by the node: it is reported as a contractual term. An unknown
   action in a prohibition applies (fail closed).
4. Duties of the granting permission and policy obligations are obligations the consumer
   accepts with the agreement; the decision reports them (``contractual``), it does not check
   them.

Allowed = the policy-level checks pass, a permission grants (the first in document order is
``granted_by``; its data-shaping constraints are ``enforced``), and no prohibition applies.
Evaluation is deterministic: the same policy and context give the same decision.
"""

from __future__ import annotations

from policies.bindings import OperandRegistry, default_registry
from policies.checking import ConstraintChecker, describe_constraint
from policies.context import EvaluationContext
from policies.decision import Decision, Outcome, Reason, Term
from policies.dpv import PurposeTaxonomy, load_dpv_purposes
from policies.model import Duty, Policy
from policies.vocabulary import ACTION_PARENTS, action_includes, compact_term


def _terms(duties: tuple[Duty, ...], path: str, kind: str) -> list[Term]:
    return [
        Term(
            f"{path}[{index}]",
            compact_term(duty.action),
            kind,
            tuple(describe_constraint(c) for c in duty.constraints),
        )
        for index, duty in enumerate(duties)
    ]


def _policy_checks(policy: Policy, context: EvaluationContext, reasons: list[Reason]) -> bool:
    passed = True
    if policy.assignee is not None:
        participant = context.participant_id
        if participant is None:
            outcome, message = Outcome.MISSING, "the requester has no 'sub' claim"
        elif participant != policy.assignee:
            outcome, message = Outcome.VIOLATED, f"the policy is assigned to {policy.assignee}"
        else:
            outcome, message = Outcome.SATISFIED, "the requester is the assignee"
        passed = outcome is Outcome.SATISFIED
        reasons.append(
            Reason(
                "policy", "assignee", outcome, message, expected=policy.assignee, actual=participant
            )
        )
    if policy.target is not None and context.target is not None:
        same = policy.target == context.target
        message = (
            "the request is about the policy's target"
            if same
            else f"the policy is about {policy.target}, not {context.target}"
        )
        outcome = Outcome.SATISFIED if same else Outcome.VIOLATED
        reasons.append(
            Reason(
                "policy", "target", outcome, message, expected=policy.target, actual=context.target
            )
        )
        passed = passed and same
    return passed


class Evaluator:
    """Evaluates policies. Build one per node and reuse it: it holds no per-request state."""

    def __init__(
        self,
        *,
        registry: OperandRegistry | None = None,
        taxonomy: PurposeTaxonomy | None = None,
    ) -> None:
        self.taxonomy = taxonomy if taxonomy is not None else load_dpv_purposes()
        self.registry = registry if registry is not None else default_registry()
        self._checker = ConstraintChecker(self.registry, self.taxonomy)

    def _permissions(
        self, policy: Policy, context: EvaluationContext, reasons: list[Reason]
    ) -> tuple[str | None, tuple[Reason, ...], list[Term]]:
        granted_by: str | None = None
        enforced: tuple[Reason, ...] = ()
        duties: list[Term] = []
        applicable = False
        for index, permission in enumerate(policy.permissions):
            rule = f"permission[{index}]"
            if permission.action not in ACTION_PARENTS:
                name = compact_term(permission.action)
                reasons.append(
                    Reason(rule, f"{rule}.action", Outcome.UNKNOWN, f"unknown action {name!r}")
                )
                continue
            if not action_includes(permission.action, context.action):
                continue
            applicable = True
            start = len(reasons)
            granted = self._checker.check_all(permission.constraints, rule, context, reasons)
            if granted is True and granted_by is None:
                granted_by = rule
                enforced = tuple(r for r in reasons[start:] if r.outcome is Outcome.ENFORCED)
                duties = _terms(permission.duties, f"{rule}.duty", "duty")
        if not applicable:
            action = compact_term(context.action)
            reasons.append(
                Reason("policy", "permission", Outcome.VIOLATED, f"no permission covers {action}")
            )
        return granted_by, enforced, duties

    def _prohibitions(
        self, policy: Policy, context: EvaluationContext, reasons: list[Reason]
    ) -> tuple[bool, list[Term]]:
        blocked = False
        contractual: list[Term] = []
        for index, prohibition in enumerate(policy.prohibitions):
            rule = f"prohibition[{index}]"
            name = compact_term(prohibition.action)
            known = prohibition.action in ACTION_PARENTS
            if known and not action_includes(prohibition.action, context.action):
                conditions = tuple(describe_constraint(c) for c in prohibition.constraints)
                contractual.append(Term(rule, name, "prohibition", conditions))
                continue
            if not known:
                message = f"unknown action {name!r} in a prohibition: it applies"
                reasons.append(Reason(rule, f"{rule}.action", Outcome.UNKNOWN, message))
                blocked = True
                continue
            result = self._checker.check_all(prohibition.constraints, rule, context, reasons)
            if result is False:
                reasons.append(Reason(rule, rule, Outcome.SATISFIED, f"{name} is not prohibited"))
                continue
            detail = " (its conditions are indeterminate)" if result is None else ""
            reasons.append(Reason(rule, rule, Outcome.VIOLATED, f"{name} is prohibited{detail}"))
            blocked = True
        return blocked, contractual

    def evaluate(self, policy: Policy, context: EvaluationContext) -> Decision:
        """The decision for ``context`` under ``policy`` (see the module docstring)."""
        reasons: list[Reason] = []
        passed = _policy_checks(policy, context, reasons)
        granted_by, enforced, duties = self._permissions(policy, context, reasons)
        blocked, prohibitions = self._prohibitions(policy, context, reasons)
        allowed = passed and granted_by is not None and not blocked
        return Decision(
            allowed=allowed,
            scope=context.scope,
            action=compact_term(context.action),
            reasons=tuple(reasons),
            granted_by=granted_by if allowed else None,
            enforced=enforced if allowed else (),
            contractual=(
                *duties,
                *prohibitions,
                *_terms(policy.obligations, "obligation", "obligation"),
            ),
        )


def evaluate(
    policy: Policy, context: EvaluationContext, *, evaluator: Evaluator | None = None
) -> Decision:
    """Evaluate with ``evaluator`` (a default one, built for this call, when None)."""
    return (evaluator if evaluator is not None else Evaluator()).evaluate(policy, context)
