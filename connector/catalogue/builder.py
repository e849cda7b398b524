"""From an asset, its catalogue entry and its offers to DCAT-AP datasets.

Metadata comes from three places: the asset's properties (titles, descriptions, keywords,
themes, periodicity, access rights — what the administrator wrote), its data profile (places,
time coverage, size, checksum, columns, series members — what the data says), and the node's
settings (publisher, contact point, licence). A series asset (its data has a declared
``etds:seriesColumn``) is a ``dcat:DatasetSeries`` followed by one member dataset per value,
``<asset id>~<value>``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from catalog import vocabulary
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
    Offer,
    PeriodOfTime,
    TableSchema,
    csvw_datatype,
)
from connector.catalogue.profiling import ColumnInfo, DataProfile
from connector.catalogue.properties import DCAT, DCT, EDC, first_literal, iris, literals
from connector.dsp.formats import TRANSFER_FORMATS
from connector.settings import Settings
from connector.store.records import CatalogueEntryRecord
from connector.store.repositories.catalogue import CatalogueItem

MEMBER_SEPARATOR = "~"
_LANGUAGES = {"fr": "FRA", "en": "ENG", "de": "DEU", "es": "SPA", "it": "ITA", "nl": "NLD"}
_FILE_TYPES = {"parquet": "PARQUET", "csv": "CSV"}

OffersFor = Callable[[str | None], tuple[Offer, ...]]
"""The offers of an asset's dataset (``None``) or of one of its series members (a value)."""


@dataclass(frozen=True)
class Publication:
    """What every dataset of the node shares: who publishes, through which service."""

    participant_id: str
    catalogue_id: str
    service: DataService
    publisher: Agent
    contact_points: tuple[ContactPoint, ...]
    licence: LicenseDocument
    titles: tuple[LangString, ...]
    descriptions: tuple[LangString, ...]
    homepage: str | None

    @classmethod
    def from_settings(cls, settings: Settings, dsp_base: str) -> Publication:
        catalogue = settings.catalogue
        contact: tuple[ContactPoint, ...] = ()
        if catalogue.contact_name or catalogue.contact_email:
            contact = (ContactPoint(name=catalogue.contact_name, email=catalogue.contact_email),)
        homepage = str(catalogue.publisher_homepage) if catalogue.publisher_homepage else None
        return cls(
            participant_id=settings.node.participant_id,
            catalogue_id=dsp_base + "/catalog",
            service=DataService(
                id=dsp_base,
                endpoint_url=dsp_base,
                titles=(LangString(f"{settings.node.name} — Dataspace Protocol 2025-1", "en"),),
                conforms_to=(vocabulary.DSP_2025_1,),
            ),
            publisher=Agent(
                names=(LangString(catalogue.publisher_name),),
                type=catalogue.publisher_type,
                homepage=homepage,
            ),
            contact_points=contact,
            licence=LicenseDocument(catalogue.licence),
            titles=tuple(LangString(text, lang) for lang, text in catalogue.title.items()),
            descriptions=tuple(
                LangString(text, lang) for lang, text in catalogue.description.items()
            ),
            homepage=homepage,
        )

    def catalogue(self, datasets: Iterable[Dataset]) -> Catalog:
        return Catalog(
            id=self.catalogue_id,
            participant_id=self.participant_id,
            titles=self.titles,
            descriptions=self.descriptions,
            publisher=self.publisher,
            homepage=self.homepage,
            license=self.licence,
            services=(self.service,),
            datasets=tuple(datasets),
        )


def _texts(properties: Mapping[str, Any], *iris_: str) -> tuple[LangString, ...]:
    found = (_text(text, language) for iri in iris_ for text, language in literals(properties, iri))
    return tuple(dict.fromkeys(text for text in found if text is not None and text.value.strip()))


def _text(text: str, language: str | None) -> LangString | None:
    """The text, or None when it cannot be shown (an asset stored before its language tags were
    checked on write: it is left out rather than breaking the whole catalogue)."""
    try:
        return LangString(text, language)
    except ValueError:
        return None


def _first_iri(properties: Mapping[str, Any], iri: str) -> str | None:
    found = iris(properties, iri)
    return found[0] if found else None


def _languages(properties: Mapping[str, Any], titles: tuple[LangString, ...]) -> tuple[str, ...]:
    declared = iris(properties, DCT + "language")
    if declared:
        return tuple(declared)
    codes = (_LANGUAGES.get((title.language or "").split("-")[0]) for title in titles)
    return tuple(dict.fromkeys(vocabulary.language(code) for code in codes if code))


@functools.lru_cache(maxsize=256)
def _schema(columns: tuple[ColumnInfo, ...]) -> TableSchema | None:
    """The CSVW schema of these columns (datasets often share them: built once)."""
    if not columns:
        return None
    return TableSchema(tuple(Column(c.name, csvw_datatype(c.type)) for c in columns))


class DatasetBuilder:
    """Builds the datasets of catalogue items for one :class:`Publication`."""

    def __init__(self, publication: Publication) -> None:
        self._publication = publication
        # Distributions depend only on these few values: built once per combination.
        self._distributions = functools.lru_cache(maxsize=4096)(self._build_distributions)

    def _build_distributions(
        self, source_format: str | None, byte_size: int | None, checksum_value: str | None
    ) -> tuple[Distribution, ...]:
        service = self._publication.service
        checksum = None
        if checksum_value is not None:
            checksum = Checksum(vocabulary.CHECKSUM_SHA256, checksum_value)
        file_type = _FILE_TYPES.get(source_format) if source_format is not None else None
        return tuple(
            Distribution(
                format=transfer.name,
                access_service=service.id,
                access_url=service.endpoint_url,
                media_type=transfer.media_type,
                file_type=vocabulary.file_type(file_type)
                if file_type and transfer.media_type is None
                else None,
                byte_size=byte_size,
                checksum=checksum,
                license=self._publication.licence,
            )
            for transfer in TRANSFER_FORMATS
        )

    def datasets(self, item: CatalogueItem, offers_for: OffersFor) -> list[Dataset]:
        """The dataset of ``item`` (a series followed by its members, for a series asset)."""
        asset, entry = item.asset, item.entry
        properties = asset.properties
        profile = DataProfile.from_json(entry.profile) if entry and entry.profile else None
        titles = (
            _texts(properties, DCT + "title")
            or _texts(properties, EDC + "name")
            or (LangString(asset.id),)
        )
        spatial = [vocabulary.nuts(code) for code in (entry.spatial if entry else ())]
        spatial += [iri for iri in iris(properties, DCT + "spatial") if iri not in spatial]
        temporal: tuple[PeriodOfTime, ...] = ()
        if entry is not None and entry.temporal_start is not None:
            temporal = (
                PeriodOfTime(
                    entry.temporal_start.date(),
                    entry.temporal_end.date() if entry.temporal_end else None,
                ),
            )
        modified: datetime = entry.modified if entry is not None else asset.updated_at
        common: dict[str, Any] = {
            "descriptions": _texts(properties, DCT + "description", EDC + "description"),
            "keywords": _texts(properties, DCAT + "keyword"),
            "themes": tuple(iris(properties, DCAT + "theme")),
            "spatial": tuple(spatial),
            "accrual_periodicity": _first_iri(properties, DCT + "accrualPeriodicity"),
            "access_rights": _first_iri(properties, DCT + "accessRights"),
            "publisher": self._publication.publisher,
            "contact_points": self._publication.contact_points,
            "conforms_to": tuple(iris(properties, DCT + "conformsTo")),
            "languages": _languages(properties, titles),
            "temporal_resolution": first_literal(properties, DCAT + "temporalResolution"),
            "table_schema": _schema(profile.columns) if profile is not None else None,
        }
        members = profile.series if profile is not None and profile.series_column else ()
        kind = DatasetSeries if members else Dataset
        whole = kind(
            id=asset.id,
            titles=titles,
            temporal=temporal,
            issued=asset.created_at,
            modified=modified,
            distributions=self._distributions(
                profile.format if profile else None,
                profile.bytes if profile else None,
                profile.checksum if profile else None,
            ),
            offers=offers_for(None),
            **common,
        )
        found: list[Dataset] = [whole]
        for value, _rows in members:
            found.append(
                Dataset(
                    id=f"{asset.id}{MEMBER_SEPARATOR}{value}",
                    titles=tuple(LangString(f"{t.value} — {value}", t.language) for t in titles),
                    issued=_member_date(value) or asset.created_at,
                    modified=modified,
                    in_series=(asset.id,),
                    distributions=self._distributions(
                        profile.format if profile else None, None, None
                    ),
                    offers=offers_for(value),
                    **common,
                )
            )
        return found


def series_members(entry: CatalogueEntryRecord | None) -> tuple[str, ...]:
    """The member values of a series asset (its datasets are ``<asset>~<value>``), from its
    catalogue entry; empty for an asset that is not a series (or has no entry yet)."""
    profile = DataProfile.from_json(entry.profile) if entry and entry.profile else None
    if profile is None or not profile.series_column:
        return ()
    return tuple(value for value, _rows in profile.series)


def _member_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def split_member(dataset_id: str) -> tuple[str, str | None]:
    """``"barometer~2025-05-05"`` → ``("barometer", "2025-05-05")``; a plain id → ``(id, None)``."""
    asset_id, separator, member = dataset_id.rpartition(MEMBER_SEPARATOR)
    if not separator or not asset_id or not member:
        return dataset_id, None
    return asset_id, member
