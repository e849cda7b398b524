"""Search and filters over model datasets: keywords, themes, hierarchical NUTS, time, relevance."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from catalog_samples import sample_datasets

from catalog import vocabulary as v
from catalog.model import Dataset, LangString, PeriodOfTime
from catalog.regions import country_iri, overlaps, region_code
from catalog.search import (
    SearchIndex,
    SearchQuery,
    filter_datasets,
    keyword_score,
    normalise,
    search,
)

DATASETS = sample_datasets()


def ids(found: list[Dataset]) -> list[str]:
    return [dataset.id for dataset in found]


def test_normalise_ignores_case_accents_and_spacing() -> None:
    assert normalise("  Hérault   CÔTE d'Azur ") == "herault cote d'azur"
    assert normalise("Fréquentation") == normalise("FREQUENTATION")


def test_an_empty_query_keeps_everything_in_order() -> None:
    assert ids(filter_datasets(DATASETS, SearchQuery())) == ids(list(DATASETS))


def test_keywords_match_any_language_without_accents() -> None:
    found = ids(filter_datasets(DATASETS, SearchQuery.text("frequentation")))
    assert found == ["visitor-presence"]
    assert ids(filter_datasets(DATASETS, SearchQuery.text("RÉSERVATIONS"))) == [
        "booking-barometer",
        "booking-barometer-2025-W19",
        "booking-barometer-2025-W20",
        "booking-barometer-2025-W21",
    ]
    assert filter_datasets(DATASETS, SearchQuery.text("ski")) == []


def test_every_term_must_match() -> None:
    assert ids(filter_datasets(DATASETS, SearchQuery.text("tourisme durable"))) == [
        "sustainable-tourism-indicators"
    ]
    assert filter_datasets(DATASETS, SearchQuery(terms=("camping", "energy"))) == []


def _dataset(
    ds_id: str, title: str, keywords: tuple[str, ...] = (), description: str = ""
) -> Dataset:
    return Dataset(
        ds_id,
        (LangString(title, "en"),),
        descriptions=(LangString(description, "en"),) if description else (),
        keywords=tuple(LangString(k, "en") for k in keywords),
    )


def test_relevance_title_over_keywords_over_description() -> None:
    in_title = _dataset("c", "Camping nights")
    in_keywords = _dataset("b", "Nights", keywords=("camping",))
    in_description = _dataset("a", "Nights", description="Nights at camping sites")
    everywhere = _dataset("d", "Camping", keywords=("camping",), description="camping")
    hits = search([in_description, in_keywords, in_title, everywhere], SearchQuery.text("camping"))
    assert [(hit.dataset.id, hit.score) for hit in hits] == [("d", 6), ("c", 3), ("b", 2), ("a", 1)]


def test_ties_are_ordered_by_id_then_input_order() -> None:
    first, second = _dataset("x", "Camping"), _dataset("x", "Camping site")
    other = _dataset("a", "Camping")
    hits = search([first, second, other], SearchQuery.text("camping"))
    assert [hit.dataset for hit in hits] == [other, first, second]


def test_keyword_score_none_when_a_term_is_missing() -> None:
    assert keyword_score(_dataset("x", "Camping"), ("camping", "ski")) is None
    assert keyword_score(_dataset("x", "Camping"), ()) == 0


def test_themes_match_any_of_the_asked() -> None:
    query = SearchQuery(themes=(v.theme("TRAN"), v.theme("ENVI")))
    assert ids(filter_datasets(DATASETS, query)) == [
        "sustainable-tourism-indicators",
        "visitor-presence",
    ]


def test_nuts_regions_are_hierarchical() -> None:
    # Presence covers FRJ13, FRJ15, FRL04; indicators FRJ1, FRJ2, FRI1, FRL0 (NUTS 2).
    assert ids(filter_datasets(DATASETS, SearchQuery(spatial=("FRL04",)))) == [
        "booking-barometer",
        "booking-barometer-2025-W19",
        "booking-barometer-2025-W20",
        "booking-barometer-2025-W21",
        "sustainable-tourism-indicators",  # FRL0 contains FRL04
        "visitor-presence",
    ]
    only_presence = [Dataset("p", (LangString("P"),), spatial=(v.nuts("FRJ13"),))]
    for asked in ("FRJ", "FRJ1", "FRJ13", "FR", v.nuts("FRJ"), v.country("FRA")):
        assert ids(filter_datasets(only_presence, SearchQuery(spatial=(asked,)))) == ["p"], asked
    for asked in ("FRJ14", "FRK", "DE", v.country("DEU")):
        assert filter_datasets(only_presence, SearchQuery(spatial=(asked,))) == [], asked


def test_a_country_wide_dataset_covers_its_regions() -> None:
    national = [Dataset("n", (LangString("N"),), spatial=(v.country("FRA"),))]
    assert ids(filter_datasets(national, SearchQuery(spatial=("FRJ13",)))) == ["n"]
    assert filter_datasets(national, SearchQuery(spatial=("ITC",))) == []


def test_unknown_places_match_only_themselves() -> None:
    place = "https://sws.geonames.org/3007866/"
    dataset = [Dataset("g", (LangString("G"),), spatial=(place,))]
    assert ids(filter_datasets(dataset, SearchQuery(spatial=(place,)))) == ["g"]
    assert filter_datasets(dataset, SearchQuery(spatial=("FR",))) == []


def test_regions_helpers() -> None:
    assert region_code(v.nuts("FRJ13")) == "FRJ13"
    assert region_code(v.country("GRC")) == "EL"
    assert region_code(v.country("USA")) is None
    assert region_code("not a code") is None
    assert country_iri("FRJ13") == v.country("FRA")
    assert country_iri("XX1") is None
    assert overlaps("FR", "FRJ13")
    assert overlaps("FRJ13", "FR")
    assert not overlaps("FRJ13", "FRJ14")


def test_time_ranges_overlap() -> None:
    # Presence covers July 2025; indicators 2020-2024.
    summer = SearchQuery(start=date(2025, 7, 31), end=date(2025, 8, 15))
    assert "visitor-presence" in ids(filter_datasets(DATASETS, summer))
    assert "sustainable-tourism-indicators" not in ids(filter_datasets(DATASETS, summer))
    after = SearchQuery(start=date(2025, 8, 1))
    assert "visitor-presence" not in ids(filter_datasets(DATASETS, after))
    last_evening = SearchQuery(start=datetime(2025, 7, 31, 21, 0, tzinfo=UTC))
    assert "visitor-presence" in ids(filter_datasets(DATASETS, last_evening))
    before = SearchQuery(end=date(2019, 12, 31))
    assert filter_datasets(DATASETS, before) == []


def test_open_periods_and_datasets_without_coverage() -> None:
    open_ended = Dataset("o", (LangString("O"),), temporal=(PeriodOfTime(date(2024, 1, 1)),))
    undated = Dataset("u", (LangString("U"),))
    query = SearchQuery(start=date(2030, 1, 1), end=date(2030, 12, 31))
    assert ids(filter_datasets([open_ended, undated], query)) == ["o"]


def test_modified_since() -> None:
    since = SearchQuery(modified_since=datetime(2025, 5, 19, 0, 0, tzinfo=UTC))
    assert ids(filter_datasets(DATASETS, since)) == [
        "booking-barometer",
        "booking-barometer-2025-W21",
        "visitor-presence",
    ]
    issued_only = Dataset("i", (LangString("I"),), issued=date(2025, 6, 1))
    assert ids(filter_datasets([issued_only], SearchQuery(modified_since=date(2025, 6, 1)))) == [
        "i"
    ]
    assert filter_datasets([Dataset("n", (LangString("N"),))], since) == []


def test_criteria_combine_with_and() -> None:
    query = SearchQuery(terms=("tourism",), themes=(v.theme("REGI"),), spatial=("FRI",))
    assert ids(filter_datasets(DATASETS, query)) == [
        "booking-barometer",
        "booking-barometer-2025-W19",
        "booking-barometer-2025-W20",
        "booking-barometer-2025-W21",
        "sustainable-tourism-indicators",
    ]


def test_invalid_queries_are_refused() -> None:
    with pytest.raises(ValueError, match="ends before"):
        SearchQuery(start=date(2025, 2, 1), end=date(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        SearchQuery(modified_since=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="at most"):
        SearchQuery(terms=tuple(f"t{i}" for i in range(40)))
    assert SearchQuery(start=date(2025, 1, 1), end=date(2025, 1, 1)).start == date(2025, 1, 1)


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(),
        SearchQuery.text("tourisme"),
        SearchQuery(terms=("camping",), spatial=("FRJ",)),
        SearchQuery(themes=(v.theme("ENVI"),), start=date(2024, 1, 1)),
        SearchQuery(spatial=(v.country("FRA"),), modified_since=date(2025, 5, 12)),
    ],
)
def test_an_index_answers_like_the_functions(query: SearchQuery) -> None:
    index = SearchIndex(DATASETS)
    assert len(index) == len(DATASETS)
    assert index.search(query) == search(DATASETS, query)
    assert index.filter(query) == filter_datasets(DATASETS, query)
