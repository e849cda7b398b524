"""Expanded JSON-LD catalogue nodes → model objects, leniently (see :mod:`catalog.dsp_read`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from catalog import checks
from catalog.columns import DATATYPES, Column, TableSchema
from catalog.expanded import JsonObject, NodeIndex, absolute_iri, literal, moment, node_id, types
from catalog.model import (
    Agent,
    Catalog,
    Checksum,
    ContactPoint,
    DataService,
    Dataset,
    DatasetSeries,
    Distribution,
    LangString,
    LicenseDocument,
    Offer,
    PeriodOfTime,
)
from catalog.vocabulary import (
    CSVW,
    DCAT,
    DCATAP,
    DCT,
    DSPACE,
    FILE_TYPE,
    FOAF,
    IANA_MEDIA_TYPES,
    SPDX,
    VCARD,
    XSD,
    in_vocabulary,
)

MAX_NESTING = 8
T = TypeVar("T")


def _first(values: list[Any]) -> Any:
    return values[0] if values else None


class NodeReader:
    """Builds model objects from expanded catalogue nodes, skipping (and reporting) what
    cannot be one."""

    def __init__(self, index: NodeIndex, on_skip: Callable[[str], None]) -> None:
        self.index = index
        self.skip = on_skip
        self.services: dict[str, DataService] = {}

    # -- values -------------------------------------------------------------------------------

    def texts(self, node: JsonObject, iri: str) -> tuple[LangString, ...]:
        found: list[LangString] = []
        for value in self.index.values(node, iri):
            language = value.get("@language") if isinstance(value, dict) else None
            try:
                item = LangString(literal(value), language)
            except ValueError:
                continue
            if item not in found:
                found.append(item)
        return tuple(found)

    def iris(self, node: JsonObject, iri: str) -> tuple[str, ...]:
        found = [absolute_iri(value) for value in self.index.values(node, iri)]
        return tuple(dict.fromkeys(value for value in found if value is not None))

    def iri(self, node: JsonObject, iri: str) -> str | None:
        found = self.iris(node, iri)
        return found[0] if found else None

    def moment(self, node: JsonObject, iri: str) -> date | None:
        found = [m for m in map(moment, self.index.values(node, iri)) if m is not None]
        return found[0] if found else None

    def string(self, node: JsonObject, iri: str) -> str | None:
        value = _first(self.index.values(node, iri))
        text = literal(value)
        return text if isinstance(text, str) else node_id(value)

    @staticmethod
    def identifier(value: Any) -> str | None:
        """``value`` if it can be a model identifier, else None."""
        try:
            return checks.identifier(value, "an identifier")
        except ValueError:
            return None

    @staticmethod
    def media_type(value: str | None) -> str | None:
        """A media type from an IANA IRI or a ``type/subtype`` literal, else None."""
        if value is None:
            return None
        value = value.removeprefix(IANA_MEDIA_TYPES)
        if "/" not in value or checks.is_absolute_iri(value):
            return None
        try:
            return checks.identifier(value, "a media type")
        except ValueError:
            return None

    def build(self, what: str, make: Callable[[], T]) -> T | None:
        try:
            return make()
        except ValueError as exc:
            self.skip(f"{what}: {exc}")
            return None

    # -- nodes --------------------------------------------------------------------------------

    def agent(self, node: JsonObject | None) -> Agent | None:
        if node is None:
            return None
        agent_id = node_id(node)
        names = self.texts(node, FOAF + "name")
        if not names and agent_id is not None:
            names = (LangString(agent_id),)
        return self.build(
            "an agent",
            lambda: Agent(
                names,
                id=agent_id,
                type=self.iri(node, DCT + "type"),
                homepage=self.iri(node, FOAF + "homepage"),
            ),
        )

    def contact(self, node: JsonObject) -> ContactPoint | None:
        email = self.string(node, VCARD + "hasEmail")
        return self.build(
            "a contact point",
            lambda: ContactPoint(
                name=self.string(node, VCARD + "fn"),
                email=email.removeprefix("mailto:") if email else None,
                url=self.iri(node, VCARD + "hasURL"),
                id=node_id(node),
            ),
        )

    def period(self, node: JsonObject) -> PeriodOfTime | None:
        return self.build(
            "a period of time",
            lambda: PeriodOfTime(
                self.moment(node, DCAT + "startDate"), self.moment(node, DCAT + "endDate")
            ),
        )

    def license(self, node: JsonObject | None) -> LicenseDocument | None:
        licence = absolute_iri(node) if node is not None else None
        if node is None or licence is None:
            return None
        return self.build(
            "a licence", lambda: LicenseDocument(licence, self.iri(node, DCT + "type"))
        )

    def checksum(self, node: JsonObject | None) -> Checksum | None:
        if node is None:
            return None
        algorithm = self.iri(node, SPDX + "algorithm")
        value = self.string(node, SPDX + "checksumValue")
        if algorithm is None or value is None:
            self.skip("a checksum without algorithm or value")
            return None
        return self.build("a checksum", lambda: Checksum(algorithm, value))

    def column(self, node: JsonObject) -> Column | None:
        iri = self.iri(node, CSVW + "datatype")
        datatype = iri.removeprefix(XSD) if iri else self.string(node, CSVW + "datatype")
        name = self.string(node, CSVW + "name")
        if name is None:
            self.skip("a column without csvw:name")
            return None
        return self.build(
            f"column {name!r}",
            lambda: Column(
                name,
                datatype if datatype in DATATYPES else "string",
                self.texts(node, CSVW + "titles"),
                self.texts(node, DCT + "description"),
                literal(_first(self.index.values(node, CSVW + "required"))) is True,
            ),
        )

    def table_schema(self, node: JsonObject | None) -> TableSchema | None:
        if node is None:
            return None
        items: list[Any] = []
        for value in self.index.values(node, CSVW + "column"):
            listed = value.get("@list") if isinstance(value, dict) else None
            items.extend(listed if isinstance(listed, list) else [value])
        columns = [
            self.column(self.index.resolve(item)) for item in items if isinstance(item, dict)
        ]
        valid = tuple(column for column in columns if column is not None)
        return self.build("a table schema", lambda: TableSchema(valid)) if valid else None

    def service(self, node: JsonObject) -> DataService | None:
        service_id, endpoint = node_id(node), self.iri(node, DCAT + "endpointURL")
        if service_id is None or endpoint is None:
            self.skip("a data service without @id or endpointURL")
            return None
        service = self.build(
            f"data service {service_id!r}",
            lambda: DataService(
                service_id,
                endpoint,
                self.texts(node, DCT + "title"),
                self.texts(node, DCT + "description"),
                self.iri(node, DCAT + "endpointDescription"),
                self.iris(node, DCT + "conformsTo"),
            ),
        )
        if service is not None:
            self.services.setdefault(service.id, service)
        return service

    def access_service(self, value: Any) -> DataService | str | None:
        text = literal(value)
        if isinstance(text, str):
            return self.services.get(text, text)
        if value is None:
            return None
        service_id = node_id(value)
        if DCAT + "endpointURL" in value:
            return self.service(value) or service_id
        return self.services.get(service_id, service_id) if service_id else None

    def distribution(self, node: JsonObject, where: str) -> Distribution | None:
        transfer: str | None = None
        file_type: str | None = None
        for value in self.index.values(node, DCT + "format"):
            name = node_id(value) or literal(value)
            if not isinstance(name, str):
                continue
            if in_vocabulary(name, FILE_TYPE):
                file_type = file_type or name
            elif not name.startswith("@"):
                transfer = transfer or self.identifier(name)
        media = self.media_type(self.string(node, DCAT + "mediaType"))
        size = literal(_first(self.index.values(node, DCAT + "byteSize")))
        size_value = int(size) if isinstance(size, str) and size.isdigit() else size
        if isinstance(size_value, bool) or not isinstance(size_value, int) or size_value < 0:
            size_value = None
        return self.build(
            f"{where}: a distribution",
            lambda: Distribution(
                transfer,
                self.access_service(_first(self.index.values(node, DCAT + "accessService"))),
                id=node_id(node),
                access_url=self.iri(node, DCAT + "accessURL"),
                file_type=file_type,
                media_type=media,
                byte_size=size_value,
                checksum=self.checksum(_first(self.index.nodes(node, SPDX + "checksum"))),
                license=self.license(_first(self.index.nodes(node, DCT + "license"))),
                availability=self.iri(node, DCATAP + "availability"),
                titles=self.texts(node, DCT + "title"),
                descriptions=self.texts(node, DCT + "description"),
                conforms_to=self.iris(node, DCT + "conformsTo"),
            ),
        )

    def offers(self, offers: list[Offer], where: str) -> tuple[Offer, ...]:
        """The offers with a usable ``@id`` (the first of each id)."""
        kept: dict[str, Offer] = {}
        for offer in offers:
            offer_id = offer.get("@id")
            if not isinstance(offer_id, str) or not offer_id or offer_id.startswith("_:"):
                self.skip(f"{where}: an offer without @id")
            elif offer_id not in kept:
                kept[offer_id] = offer
        return tuple(kept.values())

    def dataset(self, node: JsonObject, offers: dict[str, list[Offer]]) -> Dataset | None:
        dataset_id = node_id(node)
        if dataset_id is None:
            self.skip("a dataset without @id")
            return None
        kind = DatasetSeries if DCAT + "DatasetSeries" in types(node) else Dataset
        where = f"dataset {dataset_id!r}"
        series = [
            self.identifier(node_id(value)) for value in self.index.values(node, DCAT + "inSeries")
        ]
        temporal = [self.period(period) for period in self.index.nodes(node, DCT + "temporal")]
        contacts = [self.contact(c) for c in self.index.nodes(node, DCAT + "contactPoint")]
        distributions = [
            self.distribution(d, where) for d in self.index.nodes(node, DCAT + "distribution")
        ]
        resolution = self.string(node, DCAT + "temporalResolution")
        if resolution is not None:
            resolution = self.build(where, lambda: checks.duration(resolution, "the resolution"))
        return self.build(
            where,
            lambda: kind(
                dataset_id,
                self.texts(node, DCT + "title") or (LangString(dataset_id),),
                descriptions=self.texts(node, DCT + "description"),
                keywords=self.texts(node, DCAT + "keyword"),
                themes=self.iris(node, DCAT + "theme"),
                spatial=self.iris(node, DCT + "spatial"),
                temporal=tuple(p for p in temporal if p is not None),
                temporal_resolution=resolution,
                accrual_periodicity=self.iri(node, DCT + "accrualPeriodicity"),
                publisher=self.agent(_first(self.index.nodes(node, DCT + "publisher"))),
                contact_points=tuple(c for c in contacts if c is not None),
                access_rights=self.iri(node, DCT + "accessRights"),
                issued=self.moment(node, DCT + "issued"),
                modified=self.moment(node, DCT + "modified"),
                conforms_to=self.iris(node, DCT + "conformsTo"),
                languages=self.iris(node, DCT + "language"),
                in_series=tuple(dict.fromkeys(s for s in series if s and s != dataset_id)),
                table_schema=self.table_schema(
                    _first(self.index.nodes(node, CSVW + "tableSchema"))
                ),
                distributions=tuple(d for d in distributions if d is not None),
                offers=self.offers(offers.get(dataset_id, []), where),
            ),
        )

    def catalog(
        self, node: JsonObject, offers: dict[str, list[Offer]], depth: int
    ) -> Catalog | None:
        catalog_id = node_id(node)
        if catalog_id is None:
            self.skip("a catalogue without @id")
            return None
        services = [self.service(s) for s in self.index.nodes(node, DCAT + "service")]
        datasets: dict[str, Dataset] = {}
        for dataset_node in self.index.nodes(node, DCAT + "dataset"):
            dataset = self.dataset(dataset_node, offers)
            if dataset is not None:
                datasets.setdefault(dataset.id, dataset)
        nested: list[Catalog] = []
        if depth < MAX_NESTING:
            for child in self.index.nodes(node, DCAT + "catalog"):
                parsed = self.catalog(child, offers, depth + 1)
                if parsed is not None and parsed.id not in {c.id for c in nested}:
                    nested.append(parsed)
        participant = _first(self.index.values(node, DSPACE + "participantId"))
        return self.build(
            f"catalogue {catalog_id!r}",
            lambda: Catalog(
                catalog_id,
                participant_id=self.identifier(node_id(participant) or literal(participant)),
                titles=self.texts(node, DCT + "title"),
                descriptions=self.texts(node, DCT + "description"),
                publisher=self.agent(_first(self.index.nodes(node, DCT + "publisher"))),
                homepage=self.iri(node, FOAF + "homepage"),
                languages=self.iris(node, DCT + "language"),
                license=self.license(_first(self.index.nodes(node, DCT + "license"))),
                issued=self.moment(node, DCT + "issued"),
                modified=self.moment(node, DCT + "modified"),
                services=tuple({s.id: s for s in services if s is not None}.values()),
                datasets=tuple(datasets.values()),
                catalogs=tuple(nested),
            ),
        )
