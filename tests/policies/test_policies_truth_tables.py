"""Truth tables: every operator on every operand type it supports, and the logical constraints,
checked against reference semantics written here independently of the library."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import (
    DPV,
    ETDS,
    NUTS,
    ODRL,
    SPECS,
    AgreementFacts,
    Constraint,
    ConstraintLike,
    EvaluationContext,
    Evaluator,
    Iri,
    Literal,
    LogicalConstraint,
    LogicalOperator,
    Operator,
    Permission,
    Policy,
    PolicyKind,
    Prohibition,
    Scope,
)

EVALUATOR = Evaluator()
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def _allowed(constraint: ConstraintLike, **context: Any) -> bool:
    policy = Policy(PolicyKind.SET, permissions=(Permission(ODRL + "use", (constraint,)),))
    scope = context.pop("scope", Scope.TRANSFER)
    claims = context.pop("claims", {"sub": "did:web:me.example"})
    ctx = EvaluationContext(scope, claims, context.pop("now", NOW), **context)
    return EVALUATOR.evaluate(policy, ctx).allowed


def _ops(operand: str) -> list[Operator]:
    return sorted(SPECS[operand].operators, key=lambda op: op.value)


def _reference_ordered(op: Operator, a: Any, e: Any) -> bool:
    return {
        Operator.EQ: a == e,
        Operator.NEQ: a != e,
        Operator.LT: a < e,
        Operator.LTEQ: a <= e,
        Operator.GT: a > e,
        Operator.GTEQ: a >= e,
    }[op]


# -- ordered: dateTime, count, elapsedTime ------------------------------------------------------


@settings(max_examples=300)
@given(
    op=st.sampled_from(_ops(ODRL + "dateTime")),
    offset=st.integers(-3, 3),
    zone=st.sampled_from([0, 2, -5]),
)
def test_date_time(op: Operator, offset: int, zone: int) -> None:
    expected = NOW + timedelta(minutes=offset)
    written = expected.astimezone(timezone(timedelta(hours=zone)))
    constraint = Constraint(ODRL + "dateTime", op.iri, (Literal(written.isoformat()),))
    reference = _reference_ordered(op, NOW.timestamp(), expected.timestamp())
    for scope in Scope:
        assert _allowed(constraint, scope=scope) is reference


@settings(max_examples=300)
@given(
    op=st.sampled_from(_ops(ODRL + "count")), expected=st.integers(0, 6), count=st.integers(0, 6)
)
def test_count(op: Operator, expected: int, count: int) -> None:
    constraint = Constraint(ODRL + "count", op.iri, (Literal(expected),))
    assert _allowed(constraint, transfer_count=count) is _reference_ordered(op, count, expected)
    assert _allowed(constraint, scope=Scope.NEGOTIATION) is _reference_ordered(op, 0, expected)


def _add_months(start: datetime, months: int) -> datetime:
    year, month = start.year, start.month
    for _ in range(months):
        month += 1
        if month == 13:
            year, month = year + 1, 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


@settings(max_examples=300)
@given(
    op=st.sampled_from(_ops(ODRL + "elapsedTime")),
    months=st.integers(0, 14),
    days=st.integers(0, 3),
    signed_days_ago=st.integers(0, 460),
    signed_day=st.sampled_from([1, 15, 28, 31]),
)
def test_elapsed_time(
    op: Operator, months: int, days: int, signed_days_ago: int, signed_day: int
) -> None:
    signed = (NOW - timedelta(days=signed_days_ago)).replace(day=1)
    signed = signed.replace(day=min(signed_day, calendar.monthrange(signed.year, signed.month)[1]))
    text = f"P{months}M{days}D" if months or days else "P0D"
    deadline = _add_months(signed, months) + timedelta(days=days)
    constraint = Constraint(ODRL + "elapsedTime", op.iri, (Literal(text),))
    facts = AgreementFacts("urn:agreement", signed)
    assert _allowed(constraint, agreement=facts) is _reference_ordered(op, NOW, deadline)
    # while negotiating, the agreement is signed now: zero has elapsed
    zero = _reference_ordered(op, NOW, _add_months(NOW, months) + timedelta(days=days))
    assert _allowed(constraint, scope=Scope.NEGOTIATION) is zero


# -- sets of terms: purpose, spatial, membership, organisation type, recipient ------------------


@cache
def _dpv_parents() -> dict[str, list[str]]:
    path = Path(__file__).resolve().parents[2] / "policies" / "dpv_purposes.json"
    document = json.loads(path.read_text())
    return {DPV + k: [DPV + p for p in v] for k, v in document["purposes"].items()}


def _narrower_or_same(purpose: str, broader: str) -> bool:
    if purpose == broader:
        return True
    return any(_narrower_or_same(parent, broader) for parent in _dpv_parents().get(purpose, []))


def _reference_sets(op: Operator, actual: set[str], expected: set[str]) -> bool:
    if op is Operator.IS_A:
        (target,) = expected
        return all(_narrower_or_same(a, target) for a in actual)
    if op is Operator.IS_PART_OF:
        return all(any(a[: len(e)] == e for e in expected) for a in actual)
    if op is Operator.HAS_PART:
        return all(any(e[: len(a)] == a for a in actual) for e in expected)
    return {
        Operator.EQ: actual == expected,
        Operator.NEQ: actual != expected,
        Operator.IS_ANY_OF: any(a in expected for a in actual),
        Operator.IS_NONE_OF: all(a not in expected for a in actual),
        Operator.IS_ALL_OF: all(e in actual for e in expected),
    }[op]


def _values(op: Operator, pool: list[str], draw: st.DrawFn, *, scalar: bool) -> list[str]:
    single = op is Operator.IS_A or (scalar and op in (Operator.EQ, Operator.NEQ))
    size = 1 if single else draw(st.integers(1, 3))
    return draw(st.lists(st.sampled_from(pool), min_size=size, max_size=size, unique=True))


PURPOSES = sorted(_dpv_parents())


@settings(max_examples=400)
@given(data=st.data())
def test_purpose(data: st.DataObject) -> None:
    op = data.draw(st.sampled_from(_ops(ODRL + "purpose")))
    expected = _values(op, PURPOSES, data.draw, scalar=True)
    declared = data.draw(st.sampled_from([*PURPOSES, DPV + "SomethingElse"]))
    constraint = Constraint(ODRL + "purpose", op.iri, tuple(Iri(e) for e in expected))
    reference = _reference_sets(op, {declared}, set(expected))
    assert _allowed(constraint, purpose=declared) is reference
    assert _allowed(constraint) is False  # no purpose declared: missing, denied


REGIONS = ["FR", "FRJ", "FRJ1", "FRJ13", "FRJ15", "FRK", "FRK2", "FRK24", "DE", "DE1", "EL"]


@settings(max_examples=400)
@given(data=st.data())
def test_spatial(data: st.DataObject) -> None:
    op = data.draw(st.sampled_from(_ops(ODRL + "spatial")))
    expected = _values(op, REGIONS, data.draw, scalar=False)
    claimed = data.draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=3, unique=True))
    constraint = Constraint(ODRL + "spatial", op.iri, tuple(Iri(NUTS + e) for e in expected))
    reference = _reference_sets(op, set(claimed), set(expected))
    for scope in Scope:
        assert _allowed(constraint, scope=scope, claims={"nuts": claimed}) is reference
    # without a nuts claim, the country claim places the requester (Greece is EL in NUTS)
    country = {"country": "GR"}
    assert _allowed(constraint, claims=country) is _reference_sets(op, {"EL"}, set(expected))
    assert _allowed(constraint, claims={}) is False


@pytest.mark.parametrize(
    ("operand", "claim", "pool"),
    [
        (ETDS + "membership", "membership", ["active", "suspended", "pending"]),
        (
            ETDS + "organisationType",
            "org_type",
            ["national_agency", "regional_agency", "research", "company"],
        ),
        (ODRL + "recipient", "sub", ["did:web:a.example", "did:web:b.example", "urn:c"]),
    ],
)
@settings(max_examples=150)
@given(data=st.data())
def test_claims(operand: str, claim: str, pool: list[str], data: st.DataObject) -> None:
    op = data.draw(st.sampled_from(_ops(operand)))
    expected = _values(op, pool, data.draw, scalar=True)
    value = data.draw(st.sampled_from(pool))
    constraint = Constraint(operand, op.iri, tuple(Literal(e) for e in expected))
    reference = _reference_sets(op, {value}, set(expected))
    for scope in Scope:
        assert _allowed(constraint, scope=scope, claims={claim: value}) is reference
        # the claim is absent: denied whatever the operator (even isNoneOf)
        assert _allowed(constraint, scope=scope, claims={"other": value}) is False


# -- logical constraints ------------------------------------------------------------------------

TRUE = Constraint(ODRL + "count", ODRL + "eq", (Literal(0),))
FALSE = Constraint(ODRL + "count", ODRL + "eq", (Literal(1),))
MISSING = Constraint(ODRL + "purpose", ODRL + "eq", (Iri(DPV + "PublicBenefit"),))


def _tree(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaf,
        lambda children: st.tuples(
            st.sampled_from(list(LogicalOperator)), st.lists(children, min_size=2, max_size=4)
        ),
        max_leaves=8,
    )


def _build(tree: Any) -> ConstraintLike:
    if isinstance(tree, tuple):
        operator, children = tree
        return LogicalConstraint(operator, tuple(_build(child) for child in children))
    return {True: TRUE, False: FALSE, None: MISSING}[tree]


def _reference_logic(tree: Any) -> bool | None:
    if not isinstance(tree, tuple):
        return tree  # type: ignore[no-any-return]
    operator, children = tree
    values = [_reference_logic(child) for child in children]
    if any(value is None for value in values):
        return None
    if operator is LogicalOperator.OR:
        return any(values)
    if operator is LogicalOperator.XONE:
        return sum(values) == 1  # type: ignore[arg-type]
    return all(values)  # and, andSequence


@settings(max_examples=400)
@given(tree=_tree(st.booleans()))
def test_logical_constraints(tree: Any) -> None:
    assert _allowed(_build(tree), scope=Scope.NEGOTIATION) is bool(_reference_logic(tree))


@settings(max_examples=300)
@given(tree=_tree(st.sampled_from([True, False, None])))
def test_indeterminate_operands_are_never_dropped(tree: Any) -> None:
    reference = _reference_logic(tree)
    assert _allowed(_build(tree), scope=Scope.NEGOTIATION) is (reference is True)
    # as a prohibition's condition, only a definite False lets the request through
    policy = Policy(
        PolicyKind.SET,
        permissions=(Permission(ODRL + "use"),),
        prohibitions=(Prohibition(ODRL + "use", (_build(tree),)),),
    )
    context = EvaluationContext(Scope.NEGOTIATION, {}, NOW)
    assert EVALUATOR.evaluate(policy, context).allowed is (reference is False)
