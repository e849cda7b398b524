"""Names and values: term resolution, actions, durations, date-times, integers, NUTS, DPV."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies import DPV, ETDS, NUTS, ODRL, Iri, Literal, load_dpv_purposes, nuts
from policies.dpv import PurposeTaxonomy
from policies.values import Duration, read_datetime, read_duration, read_integer, read_iri
from policies.vocabulary import action_includes, compact_term, prefixed_term, resolve_term

XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.mark.parametrize(
    ("name", "iri"),
    [
        ("purpose", ODRL + "purpose"),
        ("dateTime", ODRL + "dateTime"),
        ("use", ODRL + "use"),
        ("odrl:read", ODRL + "read"),
        ("etds:aggregationThreshold", ETDS + "aggregationThreshold"),
        ("MembershipCredential", ETDS + "membership"),
        ("dpv:PublicBenefit", DPV + "PublicBenefit"),
        ("partner", "partner"),
        ("https://example.org/x", "https://example.org/x"),
        ("odrl://not-a-prefix", "odrl://not-a-prefix"),
    ],
)
def test_resolve_term(name: str, iri: str) -> None:
    assert resolve_term(name) == iri


@pytest.mark.parametrize(
    ("iri", "compact", "prefixed"),
    [
        (ODRL + "use", "use", "odrl:use"),
        (ODRL + "isA", "isA", "odrl:isA"),
        (ODRL + "read", "odrl:read", "odrl:read"),
        (ODRL + "purpose", "odrl:purpose", "odrl:purpose"),
        (ETDS + "rowRegion", "etds:rowRegion", "etds:rowRegion"),
        ("https://example.org/x", "https://example.org/x", "https://example.org/x"),
    ],
)
def test_compact_names_are_stable(iri: str, compact: str, prefixed: str) -> None:
    assert compact_term(iri) == compact
    assert prefixed_term(iri) == prefixed
    assert resolve_term(compact) == iri == resolve_term(prefixed)


def test_action_hierarchy() -> None:
    assert action_includes(ODRL + "use", ODRL + "read")
    assert action_includes(ODRL + "use", ETDS + "reidentify")
    assert action_includes(ODRL + "transfer", ODRL + "sell")
    assert not action_includes(ODRL + "read", ODRL + "use")
    assert not action_includes(ODRL + "use", ODRL + "sell")
    assert not action_includes(ODRL + "use", "https://example.org/unknown")


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("P12M", Duration(months=12)),
        ("P1Y2M3DT4H5M6.5S", Duration(1, 2, 3, 4, 5, Decimal("6.5"))),
        ("PT36H", Duration(hours=36)),
        ("P0D", Duration()),
    ],
)
def test_durations(text: str, duration: Duration) -> None:
    assert read_duration(Literal(text)) == duration
    assert read_duration(Literal(str(duration))) == duration


@pytest.mark.parametrize("text", ["P", "PT", "12M", "-P1M", "P1.5M", "P2000Y", "P1MT"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        read_duration(Literal(text))


def test_calendar_months_clamp_the_day() -> None:
    start = datetime(2025, 1, 31, 10, 0, tzinfo=UTC)
    assert Duration(months=1).after(start) == datetime(2025, 2, 28, 10, 0, tzinfo=UTC)
    assert Duration(years=1, days=1).after(start) == datetime(2026, 2, 1, 10, 0, tzinfo=UTC)


def test_date_times_need_a_zone_and_a_time() -> None:
    assert read_datetime(Literal("2023-12-31T06:00Z")) == datetime(2023, 12, 31, 6, tzinfo=UTC)
    assert read_datetime(Literal("2026-01-01T00:00:00+01:00", XSD + "dateTime")).utcoffset()
    for bad in ("2026-01-01", "2026-01-01T00:00:00", "soon"):
        with pytest.raises(ValueError, match="date"):
            read_datetime(Literal(bad))
    with pytest.raises(ValueError, match="IRI"):
        read_datetime(Iri("urn:x"))


@given(st.integers(-(10**17), 10**17))
def test_integers_in_any_literal_form(number: int) -> None:
    assert read_integer(Literal(number)) == number
    assert read_integer(Literal(str(number))) == number
    assert read_integer(Literal(str(number), XSD + "integer")) == number


def test_iris_from_ids_or_strings() -> None:
    assert read_iri(Iri("urn:a")) == read_iri(Literal("urn:a")) == "urn:a"
    with pytest.raises(ValueError, match="IRI"):
        read_iri(Literal(3))


def test_nuts_codes_and_claims() -> None:
    assert nuts.code_from_iri(NUTS + "FRJ13") == "FRJ13"
    assert nuts.level("FRJ13") == 3
    assert nuts.level("FR") == 0
    assert nuts.contains("FRJ", "FRJ13")
    assert not nuts.contains("FRJ1", "FRJ")
    for bad in ("http://example.org/FRJ", NUTS + "frj", NUTS + "FRJ134"):
        with pytest.raises(ValueError, match="NUTS"):
            nuts.code_from_iri(bad)
    assert nuts.requester_regions({"nuts": ["FRJ", "FRK"], "country": "FR"}) == ("FRJ", "FRK")
    assert nuts.requester_regions({"nuts": "FRJ13"}) == ("FRJ13",)
    assert nuts.requester_regions({"country": "GR"}) == ("EL",)
    assert nuts.requester_regions({}) == ()
    with pytest.raises(ValueError, match="nuts"):
        nuts.claimed_regions({"nuts": ["Occitanie"]})
    with pytest.raises(ValueError, match="country"):
        nuts.requester_regions({"country": "France"})
    assert nuts.Granularity.from_label("region") is nuts.Granularity.REGION
    with pytest.raises(ValueError, match="granularity"):
        nuts.Granularity.from_label("canton")


def test_dpv_purposes() -> None:
    purposes = load_dpv_purposes()
    assert purposes.is_a(DPV + "ProvideOfficialStatistics", DPV + "PublicBenefit")
    assert purposes.is_a(DPV + "ProvideOfficialStatistics", DPV + "Purpose")
    assert purposes.is_a(DPV + "CommercialResearch", DPV + "CommercialPurpose")
    assert purposes.is_a(DPV + "CommercialResearch", DPV + "ResearchAndDevelopment")
    assert not purposes.is_a(DPV + "PublicBenefit", DPV + "ProvideOfficialStatistics")
    assert not purposes.is_a(DPV + "Marketing", DPV + "PublicBenefit")
    assert purposes.is_a(DPV + "Unlisted", DPV + "Unlisted")
    assert not purposes.is_a(DPV + "Unlisted", DPV + "Purpose")
    with pytest.raises(ValueError, match="unknown broader"):
        PurposeTaxonomy({DPV + "A": (DPV + "B",)})
