"""A realistic sample catalogue of the three tourism datasets, for the catalogue tests.

Titles, descriptions, keywords, themes, periodicity and access rights come from the sample asset
definitions (``etds_examples/assets/*.json``); the rest (coverage, columns, distributions, offers)
is what the node derives from the data and the contract definitions. The booking barometer is a
``DatasetSeries`` (the whole history, negotiable as one) with three weekly member datasets.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

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
)

BASE = "https://etds.example.fr/protocol/2025-1/catalog/datasets/"
PARTICIPANT = "did:web:etds.example.fr"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"

SERVICE = DataService(
    id="urn:etds:service:dsp",
    endpoint_url="https://etds.example.fr/protocol/2025-1",
    titles=(
        LangString("Dataspace Protocol endpoint", "en"),
        LangString("Point d'accès Dataspace Protocol", "fr"),
    ),
    conforms_to=(v.DSP_2025_1,),
)
PUBLISHER = Agent(
    names=(LangString("Agence nationale du tourisme (exemple)", "fr"),),
    id="https://etds.example.fr/#publisher",
    type=v.publisher_type("NationalAuthority"),
    homepage="https://etds.example.fr/",
)
CONTACT = ContactPoint(
    name="Équipe données", email="donnees@etds.example.fr", url="https://etds.example.fr/contact"
)
CC_BY = LicenseDocument(v.licence("CC_BY_4_0"), v.licence_type("Attribution"))


def _asset(name: str) -> dict[str, Any]:
    text = resources.files("etds_examples.assets").joinpath(name).read_text(encoding="utf-8")
    properties: dict[str, Any] = json.loads(text)["properties"]
    return properties


def _texts(values: list[dict[str, str]]) -> tuple[LangString, ...]:
    return tuple(LangString(item["@value"], item["@language"]) for item in values)


def _described(name: str) -> dict[str, Any]:
    """The Dataset fields an asset definition gives."""
    properties = _asset(name)
    return {
        "titles": _texts(properties["dct:title"]),
        "descriptions": _texts(properties["dct:description"]),
        "keywords": _texts(properties["dcat:keyword"]),
        "themes": tuple(theme["@id"] for theme in properties["dcat:theme"]),
        "accrual_periodicity": properties["dct:accrualPeriodicity"]["@id"],
        "access_rights": properties["dct:accessRights"]["@id"],
    }


def offer(offer_id: str, *, purpose: str | None = None) -> dict[str, Any]:
    """A catalogue offer in DSP compact form (as the policy engine writes them)."""
    permission: dict[str, Any] = {"action": "use"}
    if purpose is not None:
        permission["constraint"] = [
            {"leftOperand": "odrl:purpose", "operator": "isA", "rightOperand": purpose}
        ]
    return {"@id": offer_id, "@type": "Offer", "permission": [permission]}


def distributions(byte_size: int, digest: str, *, licence: bool) -> tuple[Distribution, ...]:
    """One Arrow stream and one Parquet download, both through the DSP data service."""
    checksum = Checksum(v.CHECKSUM_SHA256, digest)
    return (
        Distribution(
            format="ArrowStream-PULL",
            access_service=SERVICE,
            media_type="application/vnd.apache.arrow.stream",
            license=CC_BY if licence else None,
            availability=v.availability("STABLE"),
            titles=(LangString("Arrow IPC stream", "en"),),
        ),
        Distribution(
            format="HttpData-PULL",
            access_service=SERVICE,
            file_type=v.file_type("PARQUET"),
            media_type="application/vnd.apache.parquet",
            byte_size=byte_size,
            checksum=checksum,
            license=CC_BY if licence else None,
            availability=v.availability("STABLE"),
        ),
    )


BAROMETER_COLUMNS = TableSchema(
    (
        Column("snapshot_date", "date", (LangString("Snapshot date", "en"),), required=True),
        Column("campsite_pid", "string", (LangString("Campsite pseudonym", "en"),)),
        Column("departement_code", "string"),
        Column("nuts3", "string"),
        Column("stay_date", "date", required=True),
        Column("accommodation_type", "string"),
        Column("units_available", "long"),
        Column("units_booked", "long"),
        Column("occupancy_rate", "double"),
        Column("customer_country", "string"),
        Column("channel", "string"),
    )
)
BAROMETER_SPATIAL = (
    *(v.nuts(code) for code in ("FRJ13", "FRJ15", "FRI12", "FRL04")),
    v.country("FRA"),
)


def barometer_series() -> DatasetSeries:
    return DatasetSeries(
        id="booking-barometer",
        **_described("barometer.json"),
        spatial=BAROMETER_SPATIAL,
        temporal=(PeriodOfTime(date(2025, 5, 5), date(2025, 11, 30)),),
        temporal_resolution="P1D",
        publisher=PUBLISHER,
        contact_points=(CONTACT,),
        issued=date(2025, 5, 5),
        modified=datetime(2025, 5, 19, 6, 0, tzinfo=UTC),
        languages=(v.language("FRA"), v.language("ENG")),
        table_schema=BAROMETER_COLUMNS,
        distributions=distributions(31_141_222, "ab" * 32, licence=False),
        offers=(offer("urn:etds:offer:barometer", purpose="https://w3id.org/dpv#PublicBenefit"),),
    )


def barometer_week(monday: date) -> Dataset:
    series = barometer_series()
    week = monday.isocalendar()
    suffix = f"{week.year}-W{week.week:02d}"
    return Dataset(
        id=f"booking-barometer-{suffix}",
        titles=(
            LangString(f"Baromètre des réservations des campings, semaine {suffix}", "fr"),
            LangString(f"Campsite booking barometer, week {suffix}", "en"),
        ),
        descriptions=series.descriptions,
        keywords=series.keywords,
        themes=series.themes,
        spatial=series.spatial,
        temporal=(PeriodOfTime(monday, monday + timedelta(days=180)),),
        temporal_resolution="P1D",
        accrual_periodicity=v.frequency("WEEKLY"),
        publisher=PUBLISHER,
        contact_points=(CONTACT,),
        access_rights=series.access_rights,
        issued=monday,
        modified=monday,
        in_series=(series.id,),
        table_schema=BAROMETER_COLUMNS,
        distributions=distributions(10_380_407, "cd" * 32, licence=False),
        offers=(offer(f"urn:etds:offer:barometer:{suffix}"),),
    )


def indicators() -> Dataset:
    return Dataset(
        id="sustainable-tourism-indicators",
        **_described("indicators.json"),
        spatial=tuple(v.nuts(code) for code in ("FRJ1", "FRJ2", "FRI1", "FRL0")),
        temporal=(PeriodOfTime(date(2020, 1, 1), date(2024, 12, 31)),),
        temporal_resolution="P1M",
        publisher=PUBLISHER,
        contact_points=(CONTACT,),
        issued=date(2025, 1, 15),
        modified=date(2025, 4, 1),
        languages=(v.language("FRA"), v.language("ENG")),
        table_schema=TableSchema(
            (
                Column("indicator_id", "string", required=True),
                Column("geo", "string", (LangString("NUTS code", "en"),), required=True),
                Column("period", "string", required=True),
                Column("value", "double"),
                Column("unit", "string"),
            )
        ),
        distributions=distributions(1_204_113, "ef" * 32, licence=True),
        offers=(offer("urn:etds:offer:indicators"),),
    )


def presence() -> Dataset:
    return Dataset(
        id="visitor-presence",
        **_described("presence.json"),
        spatial=(v.nuts("FRJ13"), v.nuts("FRJ15"), v.nuts("FRL04")),
        temporal=(PeriodOfTime(date(2025, 7, 1), date(2025, 7, 31)),),
        temporal_resolution="P1D",
        publisher=PUBLISHER,
        contact_points=(CONTACT,),
        issued=date(2025, 8, 5),
        modified=date(2025, 8, 5),
        table_schema=TableSchema(
            (
                Column("date", "date", required=True),
                Column("zone_id", "string", required=True),
                Column("visitor_category", "string"),
                Column("volume", "long"),
                Column("suppressed", "boolean"),
            )
        ),
        distributions=distributions(6_291_456, "0123456789abcdef" * 4, licence=False),
        offers=(
            offer(
                "urn:etds:offer:presence", purpose="https://w3id.org/dpv#ProvideOfficialStatistics"
            ),
            offer(
                "urn:etds:offer:presence:research",
                purpose="https://w3id.org/dpv#ResearchAndDevelopment",
            ),
        ),
    )


WEEKS = (date(2025, 5, 5), date(2025, 5, 12), date(2025, 5, 19))


def sample_datasets() -> tuple[Dataset, ...]:
    return (
        barometer_series(),
        *(barometer_week(monday) for monday in WEEKS),
        indicators(),
        presence(),
    )


def sample_catalog(datasets: tuple[Dataset, ...] | None = None) -> Catalog:
    """The node's catalogue (all datasets, unless given)."""
    return Catalog(
        id="https://etds.example.fr/catalog",
        participant_id=PARTICIPANT,
        titles=(
            LangString("Catalogue national des données touristiques (exemple)", "fr"),
            LangString("National tourism data catalogue (example)", "en"),
        ),
        descriptions=(
            LangString("Données du tourisme partagées par l'espace européen des données.", "fr"),
            LangString("Tourism data shared through the European data space.", "en"),
        ),
        publisher=PUBLISHER,
        homepage="https://etds.example.fr/",
        languages=(v.language("FRA"), v.language("ENG")),
        modified=datetime(2025, 8, 5, 12, 30, tzinfo=UTC),
        services=(SERVICE,),
        datasets=sample_datasets() if datasets is None else datasets,
    )


def with_dataset(catalog: Catalog, dataset_id: str, **changes: Any) -> Catalog:
    """``catalog`` with one dataset's fields changed (for mutation tests)."""
    datasets = tuple(
        replace(dataset, **changes) if dataset.id == dataset_id else dataset
        for dataset in catalog.datasets
    )
    return replace(catalog, datasets=datasets)
