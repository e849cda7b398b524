"""Dataset profiles and the combination of data-shaping terms."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from policies import (
    ETDS,
    NUTS,
    ODRL,
    Constraint,
    Iri,
    Literal,
    LogicalConstraint,
    LogicalOperator,
    Permission,
)
from policies.dpv import load_dpv_purposes
from policies.enforcement import DatasetProfile, EnforcementTerms, collect_terms
from policies.errors import EnforcementError
from policies.nuts import Granularity

TAXONOMY = load_dpv_purposes()


def _terms(
    *constraints: Constraint | LogicalConstraint, claims: dict[str, Any] | None = None
) -> EnforcementTerms:
    permission = Permission(ODRL + "use", constraints)
    return collect_terms(permission, "permission[0]", claims or {"nuts": ["FRJ13"]}, TAXONOMY)


def _c(operand: str, op: str, *values: Literal | Iri) -> Constraint:
    return Constraint(ETDS + operand, ODRL + op, values)


def test_terms_combine_by_their_strictest_bound() -> None:
    terms = _terms(
        _c("aggregationThreshold", "gteq", Literal(3)),
        LogicalConstraint(
            LogicalOperator.AND,
            (
                _c("aggregationThreshold", "gt", Literal(4)),
                _c("spatialGranularity", "gteq", Literal("departement")),
            ),
        ),
        _c("spatialGranularity", "eq", Literal("region")),
        _c("allowedColumns", "eq", Literal("a"), Literal("b")),
        _c("allowedColumns", "eq", Literal("b"), Literal("a")),
        _c("rowRegion", "isPartOf", Iri(ETDS + "regionOfCompetence"), Iri(NUTS + "FRK")),
        _c("rowRegion", "isPartOf", Iri(NUTS + "FR")),
    )
    assert terms == EnforcementTerms(
        threshold=5,
        columns=("a", "b"),
        granularity=Granularity.REGION,
        row_regions=(("FRJ13", "FRK"), ("FR",)),
    )
    assert _terms() == EnforcementTerms()
    assert (
        _terms(_c("spatialGranularity", "gt", Literal("region"))).granularity is Granularity.NUTS1
    )


_ROC = Iri(ETDS + "regionOfCompetence")
_EITHER = LogicalConstraint(
    LogicalOperator.XONE,
    (
        _c("aggregationThreshold", "eq", Literal(3)),
        _c("aggregationThreshold", "eq", Literal(4)),
    ),
)


@pytest.mark.parametrize(
    ("constraints", "claims", "message"),
    [
        (
            (_c("allowedColumns", "eq", Literal("a")), _c("allowedColumns", "eq", Literal("b"))),
            None,
            "contradicts",
        ),
        ((_EITHER,), None, "xone"),
        ((_c("rowRegion", "isPartOf", _ROC),), {"country": "FR"}, "no region"),
        ((_c("rowRegion", "isPartOf", _ROC),), {"nuts": [3]}, "nuts"),
        ((_c("aggregationThreshold", "gteq", Literal("three")),), None, "integer"),
    ],
)
def test_terms_that_cannot_be_enforced(
    constraints: tuple[Constraint, ...], claims: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(EnforcementError, match=message):
        _terms(*constraints, claims=claims)


SCHEMA = pa.schema(
    [("nuts3", pa.dictionary(pa.int16(), pa.string())), ("dep", pa.string()), ("n", pa.int32()),
     ("label", pa.string()), ("when", pa.date32())]
)  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nuts3": "nuts3", "colour": "x"}, "unknown dataset profile entries"),
        ({"nuts3": 3}, "column name"),
        ({"dimensions": "when"}, "list of column names"),
        ({"measures": {"n": "median"}}, "median"),
        ({"measures": ["n"]}, "map columns"),
        ({"count_of": "label", "volume": "n"}, "not both"),
        ({"dimensions": ["when"], "measures": {"when": "sum"}}, "two roles"),
        ({"count_of": "when", "dimensions": ["when"]}, "group key"),
    ],
)
def test_malformed_profiles(data: dict[str, Any], message: str) -> None:
    with pytest.raises(EnforcementError, match=message):
        DatasetProfile.from_mapping(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nuts3": "region"}, "no column 'region'"),
        ({"nuts3": "n"}, "must hold strings"),
        ({"measures": {"label": "sum"}}, "numeric"),
        ({"volume": "when"}, "numeric"),
    ],
)
def test_profiles_are_checked_against_the_schema(data: dict[str, Any], message: str) -> None:
    with pytest.raises(EnforcementError, match=message):
        DatasetProfile.from_mapping(data).check(SCHEMA)


def test_a_good_profile() -> None:
    profile = DatasetProfile.from_mapping(
        {"nuts3": "nuts3", "nuts2": "dep", "dimensions": ["when"], "measures": {"n": "mean"}}
    )
    profile.check(SCHEMA)
    assert profile.finest_region == (Granularity.DEPARTEMENT, "nuts3")
    assert DatasetProfile(regions={}).finest_region is None
