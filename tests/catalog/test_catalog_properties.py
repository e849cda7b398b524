"""Properties over generated datasets: the DSP form reads back as the model and is what pyld's
compaction writes; the RDF form survives Turtle; search finds a dataset by its own words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from catalog_samples import BASE, PARTICIPANT, SERVICE, offer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Graph
from rdflib.compare import isomorphic
from test_catalog_dsp_read import without_file_types

from catalog import vocabulary as v
from catalog.contexts import dsp_processor
from catalog.dsp import catalog_from_dsp, catalog_to_dsp
from catalog.model import (
    Catalog,
    Checksum,
    Column,
    ContactPoint,
    Dataset,
    DatasetSeries,
    Distribution,
    LangString,
    PeriodOfTime,
    TableSchema,
)
from catalog.rdf import serialize, to_graph
from catalog.search import SearchQuery, filter_datasets, normalise

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàçôÉ' -", min_size=1, max_size=30).filter(
    lambda text: bool(text.strip())
)
LANGUAGES = st.sampled_from(["en", "fr", "de-ch", None])


def lang_strings(min_size: int = 0) -> st.SearchStrategy[tuple[LangString, ...]]:
    items = st.builds(LangString, WORDS, LANGUAGES)
    return st.lists(items, min_size=min_size, max_size=3, unique=True).map(tuple)


IDS = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    st.uuids().map(lambda u: f"urn:uuid:{u}"),
    st.from_regex(r"https://data\.example/[a-z]{1,10}", fullmatch=True),
)
DAYS = st.dates(date(2000, 1, 1), date(2030, 12, 31))
MOMENTS = st.one_of(
    DAYS,
    st.datetimes(datetime(2000, 1, 1), datetime(2030, 1, 1)).map(
        lambda d: d.replace(microsecond=0, tzinfo=UTC)
    ),
    st.datetimes(datetime(2000, 1, 1), datetime(2030, 1, 1)).map(
        lambda d: d.replace(microsecond=0, tzinfo=timezone(timedelta(hours=2)))
    ),
)


@st.composite
def periods(draw: st.DrawFn) -> PeriodOfTime:
    start = draw(st.one_of(st.none(), DAYS))
    end = draw(st.one_of(st.none() if start is not None else st.nothing(), DAYS))
    if start is not None and end is not None and end < start:
        start, end = end, start
    return PeriodOfTime(start, end)


DISTRIBUTIONS = st.builds(
    Distribution,
    format=st.sampled_from(["ArrowStream-PULL", "HttpData-PULL", "HttpData-PUSH"]),
    access_service=st.just(SERVICE),
    media_type=st.sampled_from([None, "text/csv", "application/vnd.apache.parquet"]),
    byte_size=st.one_of(st.none(), st.integers(0, 10**15)),
    checksum=st.one_of(
        st.none(),
        st.binary(min_size=1, max_size=32).map(lambda b: Checksum(v.CHECKSUM_SHA256, b.hex())),
    ),
    availability=st.sampled_from([None, v.availability("STABLE")]),
    titles=lang_strings(),
    file_type=st.sampled_from([None, v.file_type("CSV"), v.file_type("PARQUET")]),
)
SCHEMAS = st.one_of(
    st.none(),
    st.lists(
        st.from_regex(r"[a-z_]{1,12}", fullmatch=True), min_size=1, max_size=5, unique=True
    ).map(
        lambda names: TableSchema(
            tuple(Column(n, "string", required=i == 0) for i, n in enumerate(names))
        )
    ),
)


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    dataset_id = draw(IDS)
    kind = draw(st.sampled_from([Dataset, DatasetSeries]))
    offer_ids = draw(st.lists(st.uuids(), min_size=1, max_size=2, unique=True))
    return kind(
        id=dataset_id,
        titles=draw(lang_strings(min_size=1)),
        descriptions=draw(lang_strings()),
        keywords=draw(lang_strings()),
        themes=tuple(v.theme(code) for code in draw(st.sets(st.sampled_from(["ECON", "TRAN"])))),
        spatial=tuple(
            v.nuts(code) for code in draw(st.sets(st.sampled_from(["FR", "FRJ13", "FRL04"])))
        ),
        temporal=tuple(draw(st.lists(periods(), max_size=2))),
        temporal_resolution=draw(st.sampled_from([None, "P1D", "PT1H", "P1M"])),
        accrual_periodicity=draw(st.sampled_from([None, v.frequency("WEEKLY")])),
        contact_points=tuple(draw(st.lists(st.builds(ContactPoint, name=WORDS), max_size=1))),
        access_rights=draw(st.sampled_from([None, v.access_right("PUBLIC")])),
        issued=draw(st.one_of(st.none(), MOMENTS)),
        modified=draw(st.one_of(st.none(), MOMENTS)),
        in_series=tuple(s for s in draw(st.lists(IDS, max_size=1)) if s != dataset_id),
        table_schema=draw(SCHEMAS),
        distributions=tuple(draw(st.lists(DISTRIBUTIONS, min_size=1, max_size=2))),
        offers=tuple(offer(f"urn:uuid:{u}") for u in offer_ids),
    )


def catalog_of(items: list[Dataset]) -> Catalog:
    unique = {dataset.id: dataset for dataset in items}
    return Catalog(
        "urn:etds:catalog",
        participant_id=PARTICIPANT,
        titles=(LangString("Catalogue", "fr"),),
        services=(SERVICE,),
        datasets=tuple(unique.values()),
    )


PROFILE: Any = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROFILE
@given(st.lists(datasets(), min_size=1, max_size=3))
def test_the_dsp_form_round_trips_and_is_what_pyld_writes(items: list[Dataset]) -> None:
    catalog = catalog_of(items)
    document = catalog_to_dsp(catalog)
    assert catalog_from_dsp(document) == without_file_types(catalog)
    compacted = dsp_processor().compact(document, document["@context"])
    compacted["@context"] = document["@context"]
    assert compacted == document


@PROFILE
@given(st.lists(datasets(), min_size=1, max_size=2))
def test_the_rdf_form_survives_turtle(items: list[Dataset]) -> None:
    graph = to_graph(catalog_of(items), base=BASE)
    parsed = Graph().parse(data=serialize(graph, "text/turtle"), format="turtle")
    assert isomorphic(parsed, graph)


@settings(max_examples=60, deadline=None)
@given(datasets(), st.data())
def test_a_dataset_is_found_by_a_word_of_its_title(dataset: Dataset, data: st.DataObject) -> None:
    words = normalise(data.draw(st.sampled_from(dataset.titles)).value).split()
    if words:
        word = data.draw(st.sampled_from(words))
        assert filter_datasets([dataset], SearchQuery.text(word.upper())) == [dataset]


@given(WORDS)
def test_normalise_is_idempotent(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)
