"""The evaluator: scopes, reasons, prohibitions, duties, parties, fail-closed behaviour."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_strategies import valid_policies

from policies import (
    DPV,
    ETDS,
    NUTS,
    ODRL,
    SPECS,
    AgreementFacts,
    Binding,
    Constraint,
    Duty,
    EvaluationContext,
    Evaluator,
    Iri,
    Literal,
    LogicalConstraint,
    LogicalOperator,
    Outcome,
    Permission,
    Policy,
    PolicyKind,
    Prohibition,
    Scope,
    default_registry,
    evaluate,
)

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
EVALUATOR = Evaluator()
CLAIMS = {
    "sub": "did:web:occitanie.example",
    "membership": "active",
    "org_type": "regional_agency",
    "nuts": ["FRJ"],
    "country": "FR",
}
MEMBER = Constraint(ETDS + "membership", ODRL + "eq", (Literal("active"),))
OFFICIAL = Constraint(ODRL + "purpose", ODRL + "isA", (Iri(DPV + "ProvideOfficialStatistics"),))
YEAR = Constraint(ODRL + "elapsedTime", ODRL + "lteq", (Literal("P12M"),))
OWN_ROWS = Constraint(ETDS + "rowRegion", ODRL + "isPartOf", (Iri(ETDS + "regionOfCompetence"),))
THRESHOLD = Constraint(ETDS + "aggregationThreshold", ODRL + "gteq", (Literal(3),))


def _context(scope: Scope = Scope.NEGOTIATION, **fields: object) -> EvaluationContext:
    claims = fields.pop("claims", CLAIMS)
    return EvaluationContext(scope, claims, fields.pop("now", NOW), **fields)  # type: ignore[arg-type]


def _policy(*constraints: Constraint | LogicalConstraint, **fields: object) -> Policy:
    return Policy(
        PolicyKind.SET,
        permissions=(Permission(ODRL + "use", tuple(constraints)),),
        **fields,  # type: ignore[arg-type]
    )


def test_a_satisfied_permission_allows_with_reasons() -> None:
    decision = EVALUATOR.evaluate(
        _policy(MEMBER, OFFICIAL), _context(purpose=DPV + "ProvideOfficialStatistics")
    )
    assert decision.allowed
    assert decision.granted_by == "permission[0]"
    first = decision.reasons[0]
    assert (first.rule, first.path, first.outcome) == (
        "permission[0]",
        "permission[0].constraint[0]",
        Outcome.SATISFIED,
    )
    assert (first.left_operand, first.operator, first.expected, first.actual) == (
        "etds:membership",
        "eq",
        "active",
        "active",
    )
    assert json.loads(json.dumps(decision.to_dict()))["reasons"][1]["leftOperand"] == "odrl:purpose"


def test_a_violated_constraint_denies_and_says_which() -> None:
    decision = EVALUATOR.evaluate(
        _policy(MEMBER, OFFICIAL), _context(purpose=DPV + "CommercialResearch")
    )
    assert not decision.allowed
    assert decision.granted_by is None
    violated = [r for r in decision.reasons if r.outcome is Outcome.VIOLATED]
    assert [r.path for r in violated] == ["permission[0].constraint[1]"]
    assert violated[0].actual == DPV + "CommercialResearch"
    assert "odrl:purpose isA" in decision.summary()


@pytest.mark.parametrize("operand", sorted(SPECS))
def test_every_operand_outside_its_scopes_denies_as_unbound(operand: str) -> None:
    spec = SPECS[operand]
    unbound = [scope for scope in Scope if scope not in spec.scopes]
    value = {
        ODRL + "purpose": Iri(DPV + "Purpose"),
        ODRL + "elapsedTime": Literal("P1D"),
        ODRL + "count": Literal(1),
        ETDS + "aggregationThreshold": Literal(3),
        ETDS + "allowedColumns": Literal("a"),
        ETDS + "spatialGranularity": Literal("region"),
        ETDS + "rowRegion": Iri(NUTS + "FR"),
    }.get(operand)
    if value is None:
        assert not unbound  # operands bound everywhere are checked in the truth tables
        return
    operator = sorted(spec.operators, key=lambda op: op.value)[0]
    constraint = Constraint(operand, operator.iri, (value,))
    for scope in unbound:
        # even inside an "or" with a satisfied constraint: never dropped
        for policy in (
            _policy(constraint),
            _policy(LogicalConstraint(LogicalOperator.OR, (MEMBER, constraint))),
        ):
            decision = EVALUATOR.evaluate(policy, _context(scope, purpose=DPV + "Purpose"))
            assert not decision.allowed
            assert any(
                r.outcome is Outcome.UNBOUND and scope.value in r.message for r in decision.reasons
            )


def test_unknown_terms_deny_at_evaluation_time() -> None:
    unknown_operand = Constraint("partner", ODRL + "eq", (Literal("gold"),))
    unknown_operator = Constraint(ETDS + "membership", ODRL + "near", (Literal("active"),))
    bad_value = Constraint(ODRL + "count", ODRL + "lt", (Literal("many"),))
    for constraint in (unknown_operand, unknown_operator, bad_value):
        decision = EVALUATOR.evaluate(_policy(MEMBER, constraint), _context())
        assert not decision.allowed
        assert decision.reasons[1].outcome is Outcome.UNKNOWN
    unknown_action = Policy(PolicyKind.SET, permissions=(Permission(ODRL + "teleport"),))
    decision = EVALUATOR.evaluate(unknown_action, _context())
    assert not decision.allowed
    assert [r.outcome for r in decision.reasons] == [Outcome.UNKNOWN, Outcome.VIOLATED]


def test_actions_include_narrower_ones_only() -> None:
    read_only = Policy(PolicyKind.SET, permissions=(Permission(ODRL + "read"),))
    assert not EVALUATOR.evaluate(read_only, _context()).allowed
    assert EVALUATOR.evaluate(read_only, _context(action=ODRL + "read")).allowed
    use = Policy(PolicyKind.SET, permissions=(Permission(ODRL + "use"),))
    assert EVALUATOR.evaluate(use, _context(action=ODRL + "read")).allowed
    assert not EVALUATOR.evaluate(use, _context(action=ODRL + "sell")).allowed


def test_prohibitions() -> None:
    in_germany = Constraint(ODRL + "spatial", ODRL + "isPartOf", (Iri(NUTS + "DE"),))
    policy = _policy(
        MEMBER,
        prohibitions=(
            Prohibition(ODRL + "use", (in_germany,)),
            Prohibition(ETDS + "reidentify"),
            Prohibition(ODRL + "distribute"),
        ),
    )
    decision = EVALUATOR.evaluate(policy, _context())
    assert decision.allowed
    assert [(t.rule, t.action, t.kind) for t in decision.contractual] == [
        ("prohibition[1]", "etds:reidentify", "prohibition"),
        ("prohibition[2]", "odrl:distribute", "prohibition"),
    ]
    german = _context(claims={**CLAIMS, "nuts": ["DE1"]})
    denied = EVALUATOR.evaluate(policy, german)
    assert not denied.allowed
    assert denied.reasons[-1].path == "prohibition[0]"
    assert "prohibited" in denied.reasons[-1].message
    # an indeterminate prohibition applies; so does one with an unknown action
    no_place = _context(claims={"membership": "active"})
    assert not EVALUATOR.evaluate(policy, no_place).allowed
    unknown = _policy(MEMBER, prohibitions=(Prohibition(ETDS + "teleport"),))
    assert not EVALUATOR.evaluate(unknown, _context()).allowed


def test_duties_and_obligations_are_reported_not_checked() -> None:
    delete = Duty(
        ODRL + "delete", (Constraint(ODRL + "elapsedTime", ODRL + "gteq", (Literal("P12M"),)),)
    )
    policy = Policy(
        PolicyKind.SET,
        permissions=(
            Permission(
                ODRL + "use",
                (Constraint(ODRL + "count", ODRL + "eq", (Literal(9),)),),
                (Duty(ODRL + "inform"),),
            ),
            Permission(ODRL + "use", (MEMBER,), (delete,)),
        ),
        obligations=(Duty(ODRL + "attribute"),),
    )
    decision = EVALUATOR.evaluate(policy, _context())
    assert decision.allowed
    assert decision.granted_by == "permission[1]"
    assert [t.to_dict() for t in decision.contractual] == [
        {"rule": "permission[1].duty[0]", "action": "odrl:delete", "kind": "duty",
         "conditions": ["odrl:elapsedTime gteq P12M"]},
        {"rule": "obligation[0]", "action": "odrl:attribute", "kind": "obligation",
         "conditions": []},
    ]  # fmt: skip


def test_assignee_and_target() -> None:
    agreement = Policy(
        PolicyKind.AGREEMENT,
        uid="urn:agreement",
        target="urn:dataset:barometer",
        assigner="did:web:provider.example",
        assignee=CLAIMS["sub"],  # type: ignore[arg-type]
        permissions=(Permission(ODRL + "use"),),
    )
    assert EVALUATOR.evaluate(agreement, _context(target="urn:dataset:barometer")).allowed
    other = _context(claims={**CLAIMS, "sub": "did:web:someone-else.example"})
    decision = EVALUATOR.evaluate(agreement, other)
    assert not decision.allowed
    assert decision.reasons[0].path == "assignee"
    assert not EVALUATOR.evaluate(agreement, _context(claims={})).allowed
    wrong = EVALUATOR.evaluate(agreement, _context(target="urn:dataset:presence"))
    assert not wrong.allowed
    assert [r.outcome for r in wrong.reasons if r.path == "target"] == [Outcome.VIOLATED]


def test_data_shaping_terms_are_handed_to_enforcement() -> None:
    policy = _policy(MEMBER, THRESHOLD, OWN_ROWS)
    decision = EVALUATOR.evaluate(policy, _context(Scope.DATAPLANE))
    assert decision.allowed
    assert [r.path for r in decision.enforced] == [
        "permission[0].constraint[1]",
        "permission[0].constraint[2]",
    ]
    # the region of competence needs a nuts claim
    national = _context(Scope.DATAPLANE, claims={**CLAIMS, "nuts": None})
    missing = EVALUATOR.evaluate(policy, national)
    assert not missing.allowed
    assert missing.reasons[-1].outcome is Outcome.MISSING
    malformed = _context(Scope.DATAPLANE, claims={**CLAIMS, "nuts": ["Occitanie"]})
    assert not EVALUATOR.evaluate(policy, malformed).allowed
    # and the catalogue cannot evaluate them: an access policy must not use them
    assert not EVALUATOR.evaluate(policy, _context(Scope.CATALOG)).allowed


def test_validity_period_over_the_life_of_an_agreement() -> None:
    policy = _policy(MEMBER, YEAR)
    signed = datetime(2025, 3, 31, 9, 0, tzinfo=UTC)
    facts = AgreementFacts("urn:agreement", signed)
    within = _context(Scope.TRANSFER, agreement=facts, now=datetime(2026, 3, 31, 9, 0, tzinfo=UTC))
    after = replace(within, now=datetime(2026, 3, 31, 9, 0, 1, tzinfo=UTC))
    assert EVALUATOR.evaluate(policy, within).allowed
    assert not EVALUATOR.evaluate(policy, after).allowed
    without_agreement = _context(Scope.TRANSFER)
    assert not EVALUATOR.evaluate(policy, without_agreement).allowed


def test_registries_can_narrow_scopes() -> None:
    spec = SPECS[ETDS + "membership"]
    base = default_registry()
    bound = base.bound(spec.iri, Scope.CATALOG)
    assert bound is not None
    narrowed = base.with_binding(Binding(spec, bound.observe, frozenset({Scope.NEGOTIATION})))
    strict = Evaluator(registry=narrowed)
    assert not strict.evaluate(_policy(MEMBER), _context(Scope.CATALOG)).allowed
    assert strict.evaluate(_policy(MEMBER), _context(Scope.NEGOTIATION)).allowed
    assert EVALUATOR.evaluate(_policy(MEMBER), _context(Scope.CATALOG)).allowed


def test_context_requires_aware_times_and_copies_claims() -> None:
    with pytest.raises(ValueError, match="timezone"):
        EvaluationContext(Scope.CATALOG, {}, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone"):
        AgreementFacts("a", datetime(2026, 1, 1))
    claims = {"membership": "active"}
    context = EvaluationContext(Scope.CATALOG, claims, NOW)
    claims["membership"] = "suspended"
    assert evaluate(_policy(MEMBER), context).allowed


@settings(max_examples=50, deadline=None)
@given(
    policy=valid_policies(),
    scope=st.sampled_from(list(Scope)),
    hours=st.integers(-10_000, 10_000),
)
def test_decisions_are_deterministic(policy: Policy, scope: Scope, hours: int) -> None:
    context = _context(
        scope,
        now=NOW + timedelta(hours=hours),
        purpose=DPV + "ProvideOfficialStatistics",
        agreement=AgreementFacts("urn:a", NOW),
        transfer_count=2,
    )
    first = EVALUATOR.evaluate(policy, context)
    again = Evaluator().evaluate(policy, context)
    assert first == again
    assert json.dumps(first.to_dict()) == json.dumps(again.to_dict())
