"""Definition-time validation fails closed, naming the term and where it is."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_strategies import unknown_terms, valid_constraints, valid_policies

from policies import (
    DPV,
    ETDS,
    NUTS,
    ODRL,
    Constraint,
    ConstraintLike,
    Duty,
    Iri,
    Literal,
    LogicalConstraint,
    LogicalOperator,
    Permission,
    Policy,
    PolicyKind,
    PolicyValidationError,
    Prohibition,
    check_policy,
    validate_policy,
)

XSD = "http://www.w3.org/2001/XMLSchema#"


def _c(left: str, op: str, *values: Literal | Iri, data_type: str | None = None) -> Constraint:
    return Constraint(left, ODRL + op, tuple(values), data_type=data_type)


def _set(*constraints: ConstraintLike, action: str = ODRL + "use") -> Policy:
    return Policy(PolicyKind.SET, permissions=(Permission(action, constraints),))


def _only_issue(policy: Policy) -> tuple[str, str | None, str]:
    issues = check_policy(policy)
    assert len(issues) == 1, issues
    return issues[0].path, issues[0].term, issues[0].message


OK_DATE = Literal("2026-12-31T00:00:00Z")


@pytest.mark.parametrize(
    ("constraint", "path", "term", "words"),
    [
        (_c(ODRL + "shoeSize", "eq", Literal(3)), "leftOperand", "odrl:shoeSize", "unknown left"),
        (_c("partner", "eq", Literal("gold")), "leftOperand", "partner", "unknown left"),
        (
            Constraint(ODRL + "dateTime", ODRL + "within", (OK_DATE,)),
            "operator",
            "odrl:within",
            "unknown operator",
        ),
        (_c(ODRL + "dateTime", "isA", OK_DATE), "operator", "isA", "does not apply"),
        (
            _c(ODRL + "dateTime", "lt", Literal("tomorrow")),
            "rightOperand",
            "odrl:dateTime",
            "dateTime",
        ),
        (
            _c(ODRL + "dateTime", "lt", Literal("2026-12-31T00:00:00")),
            "rightOperand",
            "odrl:dateTime",
            "time zone",
        ),
        (_c(ODRL + "count", "lteq", Literal("five")), "rightOperand", "odrl:count", "integer"),
        (_c(ODRL + "count", "lteq", Literal(2.5)), "rightOperand", "odrl:count", "integer"),
        (_c(ODRL + "count", "lteq", Literal(True)), "rightOperand", "odrl:count", "integer"),
        (_c(ODRL + "count", "lteq", Literal(-1)), "rightOperand", "odrl:count", "non-negative"),
        (
            _c(ODRL + "count", "lteq", Literal("3", XSD + "dateTime")),
            "rightOperand",
            "odrl:count",
            "integer",
        ),
        (
            _c(ODRL + "spatial", "isPartOf", Iri("https://example.org/regions/occitanie")),
            "rightOperand",
            "odrl:spatial",
            "NUTS",
        ),
        (
            _c(ODRL + "spatial", "isPartOf", Iri(NUTS + "FRJ1234")),
            "rightOperand",
            "odrl:spatial",
            "NUTS code",
        ),
        (
            _c(ODRL + "elapsedTime", "lteq", Literal("12 months")),
            "rightOperand",
            "odrl:elapsedTime",
            "duration",
        ),
        (
            _c(ODRL + "purpose", "isA", Iri(DPV + "Gardening")),
            "rightOperand",
            "odrl:purpose",
            "unknown purpose",
        ),
        (
            _c(ODRL + "purpose", "isA", Iri(DPV + "PublicBenefit"), Iri(DPV + "Marketing")),
            "rightOperand",
            "odrl:purpose",
            "exactly one",
        ),
        (
            _c(ETDS + "organisationType", "eq", Literal("ministry")),
            "rightOperand",
            "etds:organisationType",
            "unknown organisation type",
        ),
        (
            _c(ETDS + "spatialGranularity", "eq", Literal("canton")),
            "rightOperand",
            "etds:spatialGranularity",
            "granularity",
        ),
        (
            _c(ETDS + "aggregationThreshold", "lteq", Literal(3)),
            "operator",
            "lteq",
            "does not apply",
        ),
        (
            _c(ETDS + "aggregationThreshold", "gteq", Literal(0)),
            "rightOperand",
            "etds:aggregationThreshold",
            "at least 1",
        ),
        (
            _c(ETDS + "allowedColumns", "eq", Literal("a"), Literal("a")),
            "rightOperand",
            "etds:allowedColumns",
            "twice",
        ),
        (
            _c(ETDS + "rowRegion", "isPartOf", Iri(ETDS + "myRegion")),
            "rightOperand",
            "etds:rowRegion",
            "NUTS",
        ),
        (
            _c(ODRL + "count", "lt", Literal(3), data_type=XSD + "dateTime"),
            "dataType",
            XSD + "dateTime",
            "dataType",
        ),
        (
            Constraint(ODRL + "count", ODRL + "lt", (Literal(3),), unit="https://example.org/kg"),
            "unit",
            "https://example.org/kg",
            "no unit",
        ),
    ],
)
def test_each_bad_constraint_is_named(
    constraint: Constraint, path: str, term: str, words: str
) -> None:
    issue_path, issue_term, message = _only_issue(_set(constraint))
    assert issue_path == f"permission[0].constraint[0].{path}"
    assert issue_term == term
    assert words in message


def test_logical_constraints_need_two_operands_and_are_checked_inside() -> None:
    good = _c(ODRL + "count", "lteq", Literal(3))
    bad = _c(ODRL + "count", "lteq", Literal("x"))
    policy = _set(
        _c(ODRL + "count", "lt", Literal(9)),
        LogicalConstraint(LogicalOperator.OR, (good,)),
        LogicalConstraint(
            LogicalOperator.AND, (good, LogicalConstraint(LogicalOperator.XONE, (good, bad)))
        ),
    )
    paths = [issue.path for issue in check_policy(policy)]
    assert paths == [
        "permission[0].constraint[1]",
        "permission[0].constraint[2].and[1].xone[1].rightOperand",
    ]


def test_data_shaping_terms_only_in_a_permission_conjunction() -> None:
    threshold = _c(ETDS + "aggregationThreshold", "gteq", Literal(3))
    member = _c(ETDS + "membership", "eq", Literal("active"))
    inside_and = LogicalConstraint(LogicalOperator.AND_SEQUENCE, (threshold, member))
    inside_or = LogicalConstraint(LogicalOperator.OR, (threshold, member))
    assert check_policy(_set(threshold, inside_and)) == ()
    policy = Policy(
        PolicyKind.SET,
        permissions=(
            Permission(
                ODRL + "use",
                (inside_or,),
                (Duty(ODRL + "delete", (threshold,)),),
            ),
        ),
        prohibitions=(Prohibition(ODRL + "use", (threshold,)),),
    )
    assert [issue.path for issue in check_policy(policy)] == [
        "permission[0].constraint[0].or[0].leftOperand",
        "permission[0].duty[0].constraint[0].leftOperand",
        "prohibition[0].constraint[0].leftOperand",
    ]


def test_unknown_actions_everywhere() -> None:
    unknown = ODRL + "teleport"
    policy = Policy(
        PolicyKind.SET,
        permissions=(Permission(ODRL + "use", duties=(Duty(unknown),)),),
        prohibitions=(Prohibition(ETDS + "sellToBrokers"),),
        obligations=(Duty("dance"),),
    )
    issues = check_policy(policy)
    assert [(i.path, i.term) for i in issues] == [
        ("permission[0].duty[0].action", "odrl:teleport"),
        ("prohibition[0].action", "etds:sellToBrokers"),
        ("obligation[0].action", "dance"),
    ]


def test_policy_level_requirements() -> None:
    assert [i.path for i in check_policy(Policy(PolicyKind.SET))] == ["permission"]
    offer = Policy(PolicyKind.OFFER, permissions=(Permission(ODRL + "use"),))
    assert [i.path for i in check_policy(offer)] == ["@id"]
    agreement = Policy(PolicyKind.AGREEMENT, uid="urn:a", permissions=(Permission(ODRL + "use"),))
    assert [i.path for i in check_policy(agreement)] == ["target", "assigner", "assignee"]


def test_validate_raises_with_every_issue() -> None:
    policy = _set(_c("partner", "eq", Literal("gold")), action=ODRL + "teleport")
    with pytest.raises(PolicyValidationError) as raised:
        validate_policy(policy)
    assert len(raised.value.issues) == 2
    assert "permission[0].action: unknown action 'odrl:teleport'" in str(raised.value)
    assert "permission[0].constraint[0].leftOperand" in str(raised.value)


@settings(max_examples=200)
@given(constraint=valid_constraints)
def test_valid_constraints_pass(constraint: Constraint) -> None:
    assert check_policy(_set(constraint)) == ()


@settings(max_examples=100, deadline=None)
@given(policy=valid_policies())
def test_valid_policies_pass(policy: Policy) -> None:
    assert validate_policy(policy) is policy


@settings(max_examples=200)
@given(
    constraint=valid_constraints,
    term=unknown_terms,
    where=st.sampled_from(["left", "op", "action"]),
)
def test_fail_closed_on_generated_unknown_terms(
    constraint: Constraint, term: str, where: str
) -> None:
    if where == "left":
        policy = _set(Constraint(term, constraint.operator, constraint.right_operand))
    elif where == "op":
        policy = _set(Constraint(constraint.left_operand, term, constraint.right_operand))
    else:
        policy = _set(constraint, action=term)
    issues = check_policy(policy)
    assert issues
    assert any(
        issue.path.endswith({"left": "leftOperand", "op": "operator", "action": "action"}[where])
        for issue in issues
    )
