"""The DSP catalogue request ``filter``: the project's format, compact or expanded; anything else
refused with a clear reason."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from catalog import vocabulary as v
from catalog.contexts import DSPACE, DSPACE_CONTEXT_URL, dsp_processor
from catalog.filters import FilterError, parse_catalog_filters
from catalog.search import SearchQuery


def test_no_filter_is_an_empty_query() -> None:
    assert parse_catalog_filters(None) == SearchQuery()
    assert parse_catalog_filters([]) == SearchQuery()


def test_every_criterion_in_string_form() -> None:
    query = parse_catalog_filters(
        [
            "keyword=Camping",
            "keyword=Hérault côte",
            "theme=ECON",
            f"theme={v.theme('REGI')}",
            "spatial=FRJ",
            f"spatial={v.country('FRA')}",
            "temporal=2025-07-01/2025-08-31T23:59:59Z",
            "modifiedSince=2025-05-01T00:00:00+02:00",
        ]
    )
    assert query.terms == ("camping", "herault", "cote")
    assert query.themes == (v.theme("ECON"), v.theme("REGI"))
    assert query.spatial == ("FRJ", v.country("FRA"))
    assert query.start == date(2025, 7, 1)
    assert query.end == datetime(2025, 8, 31, 23, 59, 59, tzinfo=UTC)
    assert query.modified_since == datetime.fromisoformat("2025-05-01T00:00:00+02:00")


def test_object_forms_are_the_same() -> None:
    as_strings = parse_catalog_filters(
        ["keyword=camping", "spatial=FRJ13", "temporal=../2025-01-01"]
    )
    as_objects = parse_catalog_filters(
        [{"keyword": "camping"}, {"spatial": "FRJ13"}, {"temporal": "../2025-01-01"}]
    )
    assert as_objects == as_strings
    assert as_strings.start is None
    assert as_strings.end == date(2025, 1, 1)


def _expanded_filter(filters: list[Any]) -> list[Any]:
    message = {
        "@context": [DSPACE_CONTEXT_URL],
        "@type": "CatalogRequestMessage",
        "filter": filters,
    }
    (node,) = dsp_processor().expand(message)
    values: list[Any] = node[DSPACE + "filter"]
    return values


def test_the_expanded_message_reads_the_same() -> None:
    expanded = _expanded_filter(
        ["keyword=camping", {v.ETDS + "theme": "ECON"}, {v.ETDS + "spatial": [{"@value": "FRJ"}]}]
    )
    assert parse_catalog_filters(expanded) == parse_catalog_filters(
        ["keyword=camping", "theme=ECON", "spatial=FRJ"]
    )


def test_a_short_key_lost_in_expansion_is_explained() -> None:
    expanded = _expanded_filter([{"keyword": "camping"}])
    assert expanded == [{}]
    with pytest.raises(FilterError, match=r"lost its property in JSON-LD expansion"):
        parse_catalog_filters(expanded)


@pytest.mark.parametrize(
    ("filters", "reason"),
    [
        (["colour=blue"], "unsupported filter 'colour'"),
        ([{"colour": "blue"}], "unsupported filter 'colour'"),
        (["camping"], "name=value"),
        ([42], "string"),
        ([{"keyword": 42}], "must be a string"),
        ([{"keyword": "a", "theme": "ECON"}], "exactly one property"),
        (["keyword="], "1 to 500 characters"),
        (["keyword=" + "x" * 501], "1 to 500 characters"),
        (["theme=not a code"], "neither an IRI nor"),
        (["theme=http://exa mple.org/x"], "space"),
        (["spatial=Occitanie"], "not a NUTS code"),
        (["spatial=https://sws.geonames.org/1/"], "not a NUTS code"),
        (["temporal=2025-01-01"], "interval"),
        (["temporal=../.."], "a start or an end"),
        (["temporal=2025-02-01/2025-01-01"], "ends before"),
        (["temporal=yesterday/.."], "xsd:date"),
        (["modifiedSince=2025-01-01T00:00:00"], "zoned xsd:dateTime"),
        # in range as written, out of range in UTC (where they are compared)
        (["modifiedSince=0001-01-01T00:00:00+14:00"], "in range"),
        (["temporal=../9999-12-31T23:59:59-14:00"], "in range"),
        (["modifiedSince=2025-01-01", "modifiedSince=2025-02-01"], "may appear once"),
        (["temporal=2025-01-01/..", "temporal=2025-02-01/.."], "may appear once"),
        (["keyword=a"] * 33, "at most 32"),
    ],
)
def test_anything_else_is_refused(filters: list[Any], reason: str) -> None:
    with pytest.raises(FilterError, match=reason):
        parse_catalog_filters(filters)


@pytest.mark.parametrize("filters", ["keyword=camping", {"keyword": "camping"}, 3])
def test_filter_must_be_an_array(filters: Any) -> None:
    with pytest.raises(FilterError, match="array"):
        parse_catalog_filters(filters)
