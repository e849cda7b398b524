"""Hypothesis strategies for policies: every shape the model can hold, and valid policies.

``policies()`` draws arbitrary model objects (known and unknown terms, literals of every JSON
type with or without datatypes, IRIs, nested logical constraints) for round-trip tests.
``valid_constraints()`` draws constraints that validation accepts, one strategy per left operand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from policies.model import (
    Constraint,
    ConstraintLike,
    Duty,
    Iri,
    Literal,
    LogicalConstraint,
    Permission,
    Policy,
    Prohibition,
    RightValue,
)
from policies.operands import ORGANISATION_TYPES, REGION_OF_COMPETENCE, SPECS
from policies.vocabulary import (
    ACTION_PARENTS,
    DPV,
    ETDS,
    NUTS,
    ODRL,
    XSD,
    LogicalOperator,
    Operator,
    PolicyKind,
)

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)

absolute_iris = st.one_of(
    st.builds(lambda w: f"https://example.org/terms/{w}", _WORD),
    st.builds(lambda w: f"urn:uuid:{w}", _WORD),
    st.builds(lambda w: f"did:web:{w}.example", _WORD),
)
identifiers = st.one_of(absolute_iris, st.builds(lambda w: f"policy-{w}", _WORD))
# Names that are neither ODRL terms nor prefixed: kept as written, refused by validation.
unknown_names = st.sampled_from(["partner", "tier", "colour", "membershipLevel"])
unknown_terms = st.one_of(
    unknown_names,
    absolute_iris,
    st.builds(lambda w: f"{ODRL}x{w}", _WORD),
    st.builds(lambda w: f"{ETDS}x{w}", _WORD),
)
actions = st.one_of(st.sampled_from(sorted(ACTION_PARENTS)), unknown_terms)
left_operands = st.one_of(st.sampled_from(sorted(SPECS)), unknown_terms)
operators = st.one_of(st.sampled_from([op.iri for op in Operator]), unknown_terms)
datatypes = st.one_of(
    st.none(),
    st.sampled_from([XSD + "string", XSD + "integer", XSD + "dateTime", XSD + "duration"]),
    absolute_iris,
)
literal_values = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
right_values: st.SearchStrategy[RightValue] = st.one_of(
    st.builds(Literal, literal_values, datatypes),
    st.builds(Iri, identifiers),
)
atomic_constraints = st.builds(
    Constraint,
    left_operand=left_operands,
    operator=operators,
    right_operand=st.lists(right_values, min_size=1, max_size=3).map(tuple),
    data_type=st.one_of(st.none(), absolute_iris),
    unit=st.one_of(st.none(), absolute_iris),
)


def _logical(children: st.SearchStrategy[ConstraintLike]) -> st.SearchStrategy[ConstraintLike]:
    return st.builds(
        LogicalConstraint,
        st.sampled_from(list(LogicalOperator)),
        st.lists(children, min_size=1, max_size=3).map(tuple),
    )


constraints: st.SearchStrategy[ConstraintLike] = st.recursive(
    atomic_constraints, _logical, max_leaves=6
)
constraint_lists = st.lists(constraints, max_size=3).map(tuple)
duties = st.builds(Duty, actions, constraint_lists)
permissions = st.builds(
    Permission, actions, constraint_lists, st.lists(duties, max_size=2).map(tuple)
)
prohibitions = st.builds(Prohibition, actions, constraint_lists)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    optional = st.one_of(st.none(), identifiers)
    return Policy(
        kind=draw(st.sampled_from(list(PolicyKind))),
        uid=draw(optional),
        target=draw(optional),
        assigner=draw(optional),
        assignee=draw(optional),
        profiles=tuple(draw(st.lists(absolute_iris, max_size=2, unique=True))),
        permissions=tuple(draw(st.lists(permissions, max_size=3))),
        prohibitions=tuple(draw(st.lists(prohibitions, max_size=2))),
        obligations=tuple(draw(st.lists(duties, max_size=2))),
    )


# -- valid constraints, per left operand -------------------------------------------------------

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
_PURPOSES = [
    DPV + name
    for name in ("ProvideOfficialStatistics", "PublicBenefit", "ResearchAndDevelopment",
                 "CommercialResearch", "Purpose")
]  # fmt: skip
_NUTS = ["FR", "FRJ", "FRJ1", "FRJ13", "FRK", "FRK2", "DE", "DE1"]


def _c(operand: str, operator: Operator, *values: RightValue) -> Constraint:
    return Constraint(operand, operator.iri, tuple(values))


def valid_constraint_for(operand: str) -> st.SearchStrategy[Constraint]:
    """Constraints on ``operand`` that validation accepts (operators and values that fit)."""
    spec = SPECS[operand]
    ops = sorted(spec.operators, key=lambda op: op.value)
    scalars: dict[str, st.SearchStrategy[str | int]] = {
        "dateTime": st.integers(-1000, 1000).map(lambda h: (NOW + timedelta(hours=h)).isoformat()),
        "duration": st.sampled_from(["P12M", "P1Y", "P30D", "PT12H", "P1Y2M3DT4H"]),
        "count": st.integers(1, 50),
        "threshold": st.integers(1, 50),
        "granularity": st.sampled_from(["departement", "region", "nuts1"]),
    }
    if spec.kind.value in scalars:
        return st.builds(
            lambda op, v: _c(operand, op, Literal(v)),
            st.sampled_from(ops),
            scalars[spec.kind.value],
        )
    if spec.kind.value == "columns":
        names = st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True)
        return names.map(lambda cs: _c(operand, Operator.EQ, *(Literal(c) for c in cs)))
    if spec.kind.value == "rowRegion":
        nuts_iris = st.sampled_from(_NUTS).map(lambda c: Iri(NUTS + c))
        regions = st.lists(
            st.one_of(st.just(Iri(REGION_OF_COMPETENCE)), nuts_iris),
            min_size=1,
            max_size=2,
            unique=True,
        )
        return regions.map(lambda vs: _c(operand, Operator.IS_PART_OF, *vs))
    pools = {
        "purpose": [Iri(p) for p in _PURPOSES],
        "region": [Iri(NUTS + c) for c in _NUTS],
        "text": [Literal(v) for v in ("active", "suspended", "pending")],
        "organisationType": [Literal(v) for v in sorted(ORGANISATION_TYPES)],
        "party": [Iri(f"did:web:{v}.example") for v in ("a", "b", "c")],
    }
    pool = pools[spec.kind.value]

    @st.composite
    def draw_term(draw: st.DrawFn) -> Constraint:
        operator = draw(st.sampled_from(ops))
        single = operator in (Operator.IS_A,) or (
            operator in (Operator.EQ, Operator.NEQ) and spec.kind.value != "region"
        )
        size = 1 if single else draw(st.integers(1, 3))
        values = draw(st.lists(st.sampled_from(pool), min_size=size, max_size=size, unique=True))
        return _c(operand, operator, *values)

    return draw_term()


valid_constraints = st.sampled_from(sorted(SPECS)).flatmap(valid_constraint_for)


# -- valid policies ------------------------------------------------------------------------------

checkable_constraints = st.sampled_from(
    sorted(iri for iri, spec in SPECS.items() if not spec.enforced)
).flatmap(valid_constraint_for)
shaping_constraints = st.sampled_from(
    sorted(iri for iri, spec in SPECS.items() if spec.enforced)
).flatmap(valid_constraint_for)
checkable_trees: st.SearchStrategy[ConstraintLike] = st.recursive(
    checkable_constraints,
    lambda children: st.builds(
        LogicalConstraint,
        st.sampled_from(list(LogicalOperator)),
        st.lists(children, min_size=2, max_size=3).map(tuple),
    ),
    max_leaves=5,
)
known_actions = st.sampled_from(sorted(ACTION_PARENTS))


@st.composite
def valid_policies(draw: st.DrawFn) -> Policy:
    """Policies that validation accepts (Offers with an id, known terms, well-placed terms)."""

    def rule_constraints(shaping: bool) -> tuple[ConstraintLike, ...]:
        items = draw(st.lists(checkable_trees, max_size=3))
        if shaping:
            items += draw(st.lists(shaping_constraints, max_size=2))
        return tuple(items)

    permissions = tuple(
        Permission(
            draw(known_actions),
            rule_constraints(True),
            tuple(
                Duty(draw(known_actions), rule_constraints(False))
                for _ in range(draw(st.integers(0, 1)))
            ),
        )
        for _ in range(draw(st.integers(1, 2)))
    )
    prohibitions = tuple(
        Prohibition(draw(known_actions), rule_constraints(False))
        for _ in range(draw(st.integers(0, 2)))
    )
    return Policy(
        kind=PolicyKind.OFFER,
        uid=draw(identifiers),
        permissions=permissions,
        prohibitions=prohibitions,
    )
