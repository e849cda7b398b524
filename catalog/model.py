"""The DCAT-AP 3 model: catalogues, datasets, dataset series, distributions and data services.

Frozen dataclasses that check their invariants when built (``ValueError`` naming the field);
sequences are stored as tuples. Vocabulary values (themes, frequencies, access rights, file types,
languages, spatial coverage) are IRIs — :mod:`catalog.vocabulary` builds them from codes.

Identifiers are IRIs, URNs or plain ids (``booking-barometer``): the DSP form keeps a plain id as
it is (a relative IRI); the RDF form resolves it against a base IRI (:mod:`catalog.rdf`).

ODRL offers are opaque JSON objects in DSP 2025-1 compact form, made by the policy engine
(``{"@id": …, "@type": "Offer", "permission": […]}``): the catalogue embeds them under
``hasPolicy`` and only reads their ``@id``. They are not copied here (do not mutate them); the DSP
writer copies them into its output.

What DCAT-AP makes mandatory for a catalogue, a data service or a dataset's description is checked
on what the node publishes by SHACL (:mod:`catalog.validation`), not here, so that a peer's sparse
catalogue can still be read. A dataset's title is the exception: every dataset has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from catalog import checks
from catalog.columns import Column, TableSchema, csvw_datatype
from catalog.values import (
    Agent,
    Checksum,
    ContactPoint,
    LangString,
    LicenseDocument,
    PeriodOfTime,
    as_tuple,
    lang_strings,
    store,
)

__all__ = [
    "Agent",
    "Catalog",
    "Checksum",
    "Column",
    "ContactPoint",
    "DataService",
    "Dataset",
    "DatasetSeries",
    "Distribution",
    "LangString",
    "LicenseDocument",
    "Offer",
    "PeriodOfTime",
    "TableSchema",
    "csvw_datatype",
]

Offer = dict[str, Any]
"""An ODRL offer in DSP 2025-1 compact form (opaque to the catalogue)."""

MAX_ITEMS = 100_000


def _optional_iri(value: str | None, what: str) -> None:
    if value is not None:
        checks.iri(value, what)


def _optional_moment(value: date | None, what: str) -> None:
    if value is not None:
        checks.moment(value, what)


def _iri_tuple(instance: object, name: str, what: str) -> None:
    store(instance, name, checks.iris(as_tuple(getattr(instance, name), what), what))


def _texts(instance: object, name: str, what: str) -> None:
    store(instance, name, lang_strings(getattr(instance, name), what))


@dataclass(frozen=True, slots=True)
class DataService:
    """``dcat:DataService``: the DSP endpoint (``endpointURL`` is the DSP ``<base>``)."""

    id: str
    endpoint_url: str
    titles: tuple[LangString, ...] = ()
    descriptions: tuple[LangString, ...] = ()
    endpoint_description: str | None = None
    conforms_to: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        checks.identifier(self.id, "the data service's id")
        checks.iri(self.endpoint_url, "the data service's endpoint URL")
        _texts(self, "titles", "the data service's titles")
        _texts(self, "descriptions", "the data service's descriptions")
        _optional_iri(self.endpoint_description, "the data service's endpoint description")
        _iri_tuple(self, "conforms_to", "the data service's conformsTo")


@dataclass(frozen=True, slots=True)
class Distribution:
    """``dcat:Distribution``: one way of getting the data.

    ``format`` is the DSP transfer format (``ArrowStream-PULL``, ``HttpData-PULL``), a plain term
    in DSP; ``file_type`` the EU file-type IRI (``dct:format`` in DCAT-AP) and ``media_type`` the
    IANA media type (``application/vnd.apache.arrow.stream``) of what is delivered.
    ``access_service`` is the :class:`DataService` (or its id) that serves it; when ``access_url``
    is not given, the RDF form uses the service's endpoint URL as ``dcat:accessURL``.
    """

    format: str | None
    access_service: DataService | str | None = None
    id: str | None = None
    access_url: str | None = None
    file_type: str | None = None
    media_type: str | None = None
    byte_size: int | None = None
    checksum: Checksum | None = None
    license: LicenseDocument | None = None
    availability: str | None = None
    titles: tuple[LangString, ...] = ()
    descriptions: tuple[LangString, ...] = ()
    conforms_to: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.format is not None:
            checks.identifier(self.format, "the distribution's format")
            if self.format.startswith("@"):
                raise ValueError("the distribution's format cannot be a JSON-LD keyword")
        if isinstance(self.access_service, str):
            checks.identifier(self.access_service, "the distribution's access service")
        elif self.access_service is not None and not isinstance(self.access_service, DataService):
            raise ValueError("the access service must be a DataService or its id")
        if self.id is not None:
            checks.identifier(self.id, "the distribution's id")
        _optional_iri(self.access_url, "the distribution's access URL")
        _optional_iri(self.file_type, "the distribution's file type")
        if self.media_type is not None and (
            "/" not in self.media_type or checks.is_absolute_iri(self.media_type)
        ):
            raise ValueError(f"{self.media_type!r} is not a media type (type/subtype)")
        if self.media_type is not None:
            checks.identifier(self.media_type, "the distribution's media type")
        if self.byte_size is not None:
            checks.non_negative(self.byte_size, "the distribution's byte size")
        _optional_iri(self.availability, "the distribution's availability")
        _texts(self, "titles", "the distribution's titles")
        _texts(self, "descriptions", "the distribution's descriptions")
        _iri_tuple(self, "conforms_to", "the distribution's conformsTo")

    @property
    def access_service_id(self) -> str | None:
        service = self.access_service
        return service.id if isinstance(service, DataService) else service


@dataclass(frozen=True, slots=True)
class Dataset:
    """``dcat:Dataset`` with the DCAT-AP 3 properties the node publishes, and its DSP offers."""

    id: str
    titles: tuple[LangString, ...]
    descriptions: tuple[LangString, ...] = ()
    keywords: tuple[LangString, ...] = ()
    themes: tuple[str, ...] = ()
    spatial: tuple[str, ...] = ()
    temporal: tuple[PeriodOfTime, ...] = ()
    temporal_resolution: str | None = None
    accrual_periodicity: str | None = None
    publisher: Agent | None = None
    contact_points: tuple[ContactPoint, ...] = ()
    access_rights: str | None = None
    issued: date | None = None
    modified: date | None = None
    conforms_to: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    in_series: tuple[str, ...] = ()
    table_schema: TableSchema | None = None
    distributions: tuple[Distribution, ...] = ()
    offers: tuple[Offer, ...] = ()

    def __post_init__(self) -> None:
        checks.identifier(self.id, "the dataset's id")
        _texts(self, "titles", f"dataset {self.id!r} titles")
        if not self.titles:
            raise ValueError(f"dataset {self.id!r} needs a title")
        _texts(self, "descriptions", f"dataset {self.id!r} descriptions")
        _texts(self, "keywords", f"dataset {self.id!r} keywords")
        for name in ("themes", "spatial", "conforms_to", "languages"):
            _iri_tuple(self, name, f"dataset {self.id!r} {name}")
        store(self, "temporal", as_tuple(self.temporal, "the temporal coverage"))
        if self.temporal_resolution is not None:
            checks.duration(self.temporal_resolution, f"dataset {self.id!r} temporal resolution")
        _optional_iri(self.accrual_periodicity, f"dataset {self.id!r} accrual periodicity")
        _optional_iri(self.access_rights, f"dataset {self.id!r} access rights")
        store(self, "contact_points", as_tuple(self.contact_points, "the contact points"))
        _optional_moment(self.issued, f"dataset {self.id!r} issued")
        _optional_moment(self.modified, f"dataset {self.id!r} modified")
        store(self, "in_series", as_tuple(self.in_series, "the series"))
        for series in self.in_series:
            checks.identifier(series, f"dataset {self.id!r} series")
        if self.id in self.in_series:
            raise ValueError(f"dataset {self.id!r} cannot be a member of itself")
        store(self, "distributions", as_tuple(self.distributions, "the distributions"))
        store(self, "offers", as_tuple(self.offers, "the offers"))
        self._check_offers()

    def _check_offers(self) -> None:
        ids: set[str] = set()
        for offer in self.offers:
            if not isinstance(offer, dict):
                raise ValueError(f"dataset {self.id!r}: an offer must be a JSON object")
            offer_id = checks.identifier(offer.get("@id"), f"dataset {self.id!r} offer @id")
            if offer_id in ids:
                raise ValueError(f"dataset {self.id!r} has two offers {offer_id!r}")
            ids.add(offer_id)

    @property
    def is_series(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class DatasetSeries(Dataset):
    """``dcat:DatasetSeries``: a dataset whose members point to it with ``in_series`` (weekly
    barometer snapshots). It may have its own distributions and offers (the whole series)."""

    @property
    def is_series(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Catalog:
    """``dcat:Catalog``: the DSP catalogue of one participant (``participant_id``)."""

    id: str
    participant_id: str | None = None
    titles: tuple[LangString, ...] = ()
    descriptions: tuple[LangString, ...] = ()
    publisher: Agent | None = None
    homepage: str | None = None
    languages: tuple[str, ...] = ()
    license: LicenseDocument | None = None
    issued: date | None = None
    modified: date | None = None
    services: tuple[DataService, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    catalogs: tuple[Catalog, ...] = ()

    def __post_init__(self) -> None:
        checks.identifier(self.id, "the catalogue's id")
        if self.participant_id is not None:
            checks.identifier(self.participant_id, "the participant id")
        _texts(self, "titles", "the catalogue's titles")
        _texts(self, "descriptions", "the catalogue's descriptions")
        _optional_iri(self.homepage, "the catalogue's homepage")
        _iri_tuple(self, "languages", "the catalogue's languages")
        _optional_moment(self.issued, "the catalogue's issued date")
        _optional_moment(self.modified, "the catalogue's modified date")
        for name in ("services", "datasets", "catalogs"):
            stored = as_tuple(getattr(self, name), f"the catalogue's {name}")
            if len(stored) > MAX_ITEMS:
                raise ValueError(f"a catalogue holds at most {MAX_ITEMS} {name}")
            store(self, name, stored)
        self._unique("services", [service.id for service in self.services])
        self._unique("datasets", [dataset.id for dataset in self.datasets])
        self._unique("catalogs", [catalog.id for catalog in self.catalogs])

    def _unique(self, what: str, ids: list[str]) -> None:
        if len(set(ids)) != len(ids):
            raise ValueError(f"catalogue {self.id!r} lists two {what} with the same id")

    def service(self, service_id: str) -> DataService | None:
        """The catalogue's data service with this id."""
        return next((s for s in self.services if s.id == service_id), None)
