"""The model checks its invariants when built."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from catalog_samples import SERVICE, offer, sample_catalog

from catalog import vocabulary as v
from catalog.model import (
    Agent,
    Catalog,
    Checksum,
    Column,
    ContactPoint,
    DataService,
    Dataset,
    DatasetSeries,
    Distribution,
    LangString,
    LicenseDocument,
    PeriodOfTime,
    TableSchema,
    csvw_datatype,
)

TITLE = (LangString("Title", "en"),)


def test_the_sample_catalogue_builds() -> None:
    catalog = sample_catalog()
    assert [d.id for d in catalog.datasets][:2] == [
        "booking-barometer",
        "booking-barometer-2025-W19",
    ]
    assert catalog.datasets[0].is_series
    assert not catalog.datasets[1].is_series
    assert catalog.datasets[1].in_series == ("booking-barometer",)


def test_language_tags_are_checked_and_lower_cased() -> None:
    assert LangString("Hello", "en-GB").language == "en-gb"
    assert LangString("Hello").language is None
    for tag in ("en_GB", "", "e n", "toolongsubtag9", "-en"):
        with pytest.raises(ValueError, match="language tag"):
            LangString("Hello", tag)
    with pytest.raises(ValueError, match="non-blank"):
        LangString("   ", "en")


def test_a_dataset_needs_a_title_and_a_clean_id() -> None:
    with pytest.raises(ValueError, match="needs a title"):
        Dataset("ds", ())
    for bad in ("", "a b", "_:b0", "@id", "x<y", "a\nb"):
        with pytest.raises(ValueError, match="id"):
            Dataset(bad, TITLE)


def test_repeated_texts_and_iris_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        Dataset("ds", (LangString("A", "en"), LangString("A", "en")))
    with pytest.raises(ValueError, match="twice"):
        Dataset("ds", TITLE, themes=(v.theme("ECON"), v.theme("ECON")))


def test_vocabulary_values_must_be_absolute_iris() -> None:
    with pytest.raises(ValueError, match="absolute IRI"):
        Dataset("ds", TITLE, themes=("ECON",))
    with pytest.raises(ValueError, match="absolute IRI"):
        Dataset("ds", TITLE, access_rights="RESTRICTED")
    with pytest.raises(ValueError, match="absolute IRI"):
        Distribution("HttpData-PULL", file_type="PARQUET")


def test_lists_become_tuples_and_a_lone_string_is_refused() -> None:
    dataset = Dataset("ds", [LangString("T")], keywords=[LangString("k")])  # type: ignore[arg-type]
    assert dataset.titles == (LangString("T"),)
    assert isinstance(dataset.keywords, tuple)
    with pytest.raises(ValueError, match="sequence"):
        Dataset("ds", TITLE, themes=v.theme("ECON"))  # type: ignore[arg-type]


def test_periods_are_ordered_and_zoned() -> None:
    assert PeriodOfTime(date(2025, 1, 1)).end is None
    with pytest.raises(ValueError, match="start or an end"):
        PeriodOfTime()
    with pytest.raises(ValueError, match="before it starts"):
        PeriodOfTime(date(2025, 2, 1), date(2025, 1, 31))
    with pytest.raises(ValueError, match="timezone-aware"):
        PeriodOfTime(datetime(2025, 1, 1, 12, 0))
    same_day = PeriodOfTime(date(2025, 1, 1), datetime(2025, 1, 1, 18, 0, tzinfo=UTC))
    assert same_day.start == date(2025, 1, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        Dataset("ds", TITLE, modified=datetime(2025, 1, 1))


def test_durations_checksums_and_sizes() -> None:
    assert Dataset("ds", TITLE, temporal_resolution="PT1H").temporal_resolution == "PT1H"
    for bad in ("1D", "P", "PT", "P1DT", "weekly"):
        with pytest.raises(ValueError, match="duration"):
            Dataset("ds", TITLE, temporal_resolution=bad)
    assert Checksum(v.CHECKSUM_SHA256, "ABCD").value == "abcd"
    with pytest.raises(ValueError, match="hexadecimal"):
        Checksum(v.CHECKSUM_SHA256, "abc")
    with pytest.raises(ValueError, match="non-negative"):
        Distribution("HttpData-PULL", byte_size=-1)
    with pytest.raises(ValueError, match="non-negative"):
        Distribution("HttpData-PULL", byte_size=True)


def test_distribution_values() -> None:
    with pytest.raises(ValueError, match="media type"):
        Distribution("HttpData-PULL", media_type="parquet")
    with pytest.raises(ValueError, match="media type"):
        Distribution("HttpData-PULL", media_type="https://www.iana.org/x/y")
    with pytest.raises(ValueError, match="keyword"):
        Distribution("@type")
    with pytest.raises(ValueError, match="DataService or its id"):
        Distribution("HttpData-PULL", access_service=42)  # type: ignore[arg-type]
    assert Distribution("HttpData-PULL", access_service=SERVICE).access_service_id == SERVICE.id
    assert Distribution("HttpData-PULL", access_service="svc").access_service_id == "svc"


def test_offers_need_distinct_ids() -> None:
    assert (
        Dataset("ds", TITLE, offers=(offer("urn:o1"), offer("urn:o2"))).offers[1]["@id"] == "urn:o2"
    )
    with pytest.raises(ValueError, match="two offers"):
        Dataset("ds", TITLE, offers=(offer("urn:o1"), offer("urn:o1")))
    with pytest.raises(ValueError, match="offer @id"):
        Dataset("ds", TITLE, offers=({"@type": "Offer"},))
    with pytest.raises(ValueError, match="JSON object"):
        Dataset("ds", TITLE, offers=("urn:o1",))  # type: ignore[arg-type]


def test_series_membership() -> None:
    with pytest.raises(ValueError, match="member of itself"):
        Dataset("ds", TITLE, in_series=("ds",))
    series = DatasetSeries("series", TITLE)
    assert series.is_series
    assert series != Dataset("series", TITLE)


def test_agents_and_contact_points() -> None:
    with pytest.raises(ValueError, match="needs a name"):
        Agent(())
    with pytest.raises(ValueError, match="absolute IRI"):
        Agent(TITLE, type="NationalAuthority")
    assert ContactPoint(email="mailto:data@example.org").email == "data@example.org"
    with pytest.raises(ValueError, match="name, an e-mail address or a URL"):
        ContactPoint()
    with pytest.raises(ValueError, match="not an e-mail"):
        ContactPoint(email="nobody")
    with pytest.raises(ValueError, match="absolute IRI"):
        LicenseDocument("CC-BY")


def test_catalogue_ids_are_unique() -> None:
    dataset = Dataset("ds", TITLE)
    with pytest.raises(ValueError, match="two datasets"):
        Catalog("cat", datasets=(dataset, dataset))
    service = DataService("svc", "https://example.org/dsp")
    with pytest.raises(ValueError, match="two services"):
        Catalog("cat", services=(service, service))
    assert Catalog("cat", services=(service,)).service("svc") is service
    assert Catalog("cat").service("svc") is None
    with pytest.raises(ValueError, match="absolute IRI"):
        DataService("svc", "/dsp")


def test_columns() -> None:
    schema = TableSchema((Column("a", "long"), Column("b", "string", required=True)))
    assert schema.columns[0].datatype_iri == v.XSD + "long"
    with pytest.raises(ValueError, match="CSVW datatype"):
        Column("a", "int64")
    with pytest.raises(ValueError, match="twice"):
        TableSchema((Column("a", "long"), Column("a", "string")))
    with pytest.raises(ValueError, match="at least one column"):
        TableSchema(())


@pytest.mark.parametrize(
    ("arrow", "csvw"),
    [
        ("int64", "long"),
        ("int32", "int"),
        ("uint8", "unsignedByte"),
        ("double", "double"),
        ("bool", "boolean"),
        ("string", "string"),
        ("large_string", "string"),
        ("date32[day]", "date"),
        ("timestamp[us, tz=UTC]", "dateTime"),
        ("decimal128(10, 2)", "decimal"),
        ("dictionary<values=string, indices=int32, ordered=0>", "string"),
        ("dictionary<values=int64, indices=int8, ordered=0>", "long"),
        ("list<item: int64>", "string"),
        ("binary", "base64Binary"),
    ],
)
def test_arrow_types_map_to_csvw_datatypes(arrow: str, csvw: str) -> None:
    assert csvw_datatype(arrow) == csvw
    Column("c", csvw_datatype(arrow))
