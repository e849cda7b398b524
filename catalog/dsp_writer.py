"""Writing model objects as compacted DSP 2025-1 JSON-LD nodes (see :mod:`catalog.dsp`).

Identifiers are compacted exactly as pyld compacts them with the DSP context (``dct:``, ``dcat:``,
``odrl:``, ``xsd:``, ``dspace:`` prefixes); an identifier whose scheme is one of those prefixes is
refused, since a reader would take it for a compact IRI.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from typing import Any

from catalog.contexts import DSPACE_CONTEXT_URL, dspace_context, odrl_profile_context
from catalog.jsonld import copy_json
from catalog.model import (
    Agent,
    Catalog,
    Checksum,
    ContactPoint,
    DataService,
    Dataset,
    Distribution,
    LangString,
    LicenseDocument,
    Offer,
    PeriodOfTime,
    TableSchema,
)
from catalog.values import iso_moment
from catalog.vocabulary import CSVW, DCAT, DCATAP, DCT, DSPACE, FOAF, ODRL, SPDX, VCARD, XSD
from catalog.vocabulary import media_type_iri as _media_type_iri

JsonObject = dict[str, Any]

# The prefixes the DSP context defines, as pyld uses them to compact identifiers.
_PREFIXES = (("dct", DCT), ("dcat", DCAT), ("odrl", ODRL), ("xsd", XSD), ("dspace", DSPACE))
_PREFIX_NAMES = frozenset(prefix for prefix, _namespace in _PREFIXES)


class DspFormError(ValueError):
    """The model cannot be written as a valid DSP 2025-1 document (says which part and why)."""


def dsp_context() -> list[str]:
    """The ``@context`` of a top-level DSP catalogue document (a fresh list)."""
    return [DSPACE_CONTEXT_URL]


def _reserved_terms() -> frozenset[str]:
    """Terms that a ``format`` value would be read as (the DSP context and its ODRL profile)."""
    terms = set(dspace_context()["@context"]) | set(odrl_profile_context()["@context"])
    return frozenset(term for term in terms if not term.startswith("@"))


class DspWriter:
    """Writes model objects as compacted DSP JSON-LD nodes; distributions name the data
    services of ``service_refs`` by id and inline any other. A dataset needs an offer unless
    ``offers_required`` is False (an administrator's view, never a peer's)."""

    def __init__(self, service_refs: Collection[str], *, offers_required: bool = True) -> None:
        self._service_refs = service_refs
        self._offers_required = offers_required
        self._reserved = _reserved_terms()
        self._offer_owners: dict[str, str] = {}

    # -- values -------------------------------------------------------------------------------

    @staticmethod
    def iri(value: str, what: str) -> str:
        """``value`` compacted as pyld compacts an identifier (``dct:`` … prefixes)."""
        scheme, colon, _rest = value.partition(":")
        if not colon:
            return value
        if scheme in _PREFIX_NAMES:
            raise DspFormError(
                f"{what} {value!r} would be read as a {scheme}: compact IRI; use a full IRI"
            )
        for prefix, namespace in _PREFIXES:
            if value.startswith(namespace) and len(value) > len(namespace):
                return f"{prefix}:{value[len(namespace) :]}"
        return value

    def ref(self, value: str, what: str) -> JsonObject:
        return {"@id": self.iri(value, what)}

    @staticmethod
    def one(values: list[Any]) -> Any:
        """A single value alone, several as an array (pyld's ``compactArrays``)."""
        return values[0] if len(values) == 1 else values

    @staticmethod
    def text(value: LangString) -> Any:
        if value.language is None:
            return value.value
        return {"@value": value.value, "@language": value.language}

    def texts(self, node: JsonObject, key: str, values: tuple[LangString, ...]) -> None:
        if values:
            node[key] = self.one([self.text(value) for value in values])

    def refs(self, node: JsonObject, key: str, values: Iterable[str], what: str) -> None:
        listed = [self.ref(value, what) for value in values]
        if listed:
            node[key] = self.one(listed)

    @staticmethod
    def moment(value: date) -> JsonObject:
        text, kind = iso_moment(value)
        return {"@value": text, "@type": "xsd:" + kind}

    # -- nodes --------------------------------------------------------------------------------

    def agent(self, agent: Agent) -> JsonObject:
        node: JsonObject = {}
        if agent.id is not None:
            node["@id"] = self.iri(agent.id, "the agent's id")
        node["@type"] = FOAF + "Agent"
        self.texts(node, FOAF + "name", agent.names)
        if agent.type is not None:
            node["dct:type"] = self.ref(agent.type, "the agent's type")
        if agent.homepage is not None:
            node[FOAF + "homepage"] = self.ref(agent.homepage, "the agent's homepage")
        return node

    def contact(self, contact: ContactPoint) -> JsonObject:
        node: JsonObject = {}
        if contact.id is not None:
            node["@id"] = self.iri(contact.id, "the contact point's id")
        node["@type"] = VCARD + "Kind"
        if contact.name is not None:
            node[VCARD + "fn"] = contact.name
        if contact.email is not None:
            node[VCARD + "hasEmail"] = {"@id": "mailto:" + contact.email}
        if contact.url is not None:
            node[VCARD + "hasURL"] = self.ref(contact.url, "the contact point's URL")
        return node

    def period(self, period: PeriodOfTime) -> JsonObject:
        node: JsonObject = {"@type": "dct:PeriodOfTime"}
        if period.start is not None:
            node["dcat:startDate"] = self.moment(period.start)
        if period.end is not None:
            node["dcat:endDate"] = self.moment(period.end)
        return node

    def license(self, license: LicenseDocument) -> JsonObject:
        node: JsonObject = {
            "@id": self.iri(license.iri, "the licence"),
            "@type": "dct:LicenseDocument",
        }
        if license.type is not None:
            node["dct:type"] = self.ref(license.type, "the licence type")
        return node

    def checksum(self, checksum: Checksum) -> JsonObject:
        return {
            "@type": SPDX + "Checksum",
            SPDX + "algorithm": self.ref(checksum.algorithm, "the checksum algorithm"),
            SPDX + "checksumValue": {"@value": checksum.value, "@type": "xsd:hexBinary"},
        }

    def table_schema(self, schema: TableSchema) -> JsonObject:
        columns = []
        for column in schema.columns:
            node: JsonObject = {
                "@type": CSVW + "Column",
                CSVW + "name": column.name,
                CSVW + "datatype": {"@id": "xsd:" + column.datatype},
            }
            self.texts(node, CSVW + "titles", column.titles)
            self.texts(node, "dct:description", column.descriptions)
            if column.required:
                node[CSVW + "required"] = True
            columns.append(node)
        return {"@type": CSVW + "Schema", CSVW + "column": {"@list": columns}}

    def service(self, service: DataService) -> JsonObject:
        node: JsonObject = {
            "@id": self.iri(service.id, "the data service's id"),
            "@type": "DataService",
            "endpointURL": service.endpoint_url,
        }
        if service.endpoint_description is not None:
            node["endpointDescription"] = service.endpoint_description
        self.texts(node, "dct:title", service.titles)
        self.texts(node, "dct:description", service.descriptions)
        self.refs(node, "dct:conformsTo", service.conforms_to, "the service's conformsTo")
        return node

    def distribution(self, distribution: Distribution, dataset_id: str) -> JsonObject:
        where = f"dataset {dataset_id!r}: a distribution"
        if distribution.format is None or distribution.access_service is None:
            raise DspFormError(f"{where} needs a format and an access service in DSP")
        if distribution.format in self._reserved:
            raise DspFormError(f"{where} has format {distribution.format!r}, a DSP/ODRL term")
        node: JsonObject = {}
        if distribution.id is not None:
            node["@id"] = self.iri(distribution.id, f"{where}'s id")
        node["@type"] = "Distribution"
        node["format"] = self.iri(distribution.format, f"{where}'s format")
        service = distribution.access_service
        if isinstance(service, DataService) and service.id not in self._service_refs:
            node["accessService"] = self.service(service)
        else:
            node["accessService"] = distribution.access_service_id
        if distribution.access_url is not None:
            node["dcat:accessURL"] = self.ref(distribution.access_url, f"{where}'s access URL")
        if distribution.media_type is not None:
            node["dcat:mediaType"] = {"@id": _media_type_iri(distribution.media_type)}
        if distribution.byte_size is not None:
            node["dcat:byteSize"] = {
                "@value": str(distribution.byte_size),
                "@type": "xsd:nonNegativeInteger",
            }
        if distribution.checksum is not None:
            node[SPDX + "checksum"] = self.checksum(distribution.checksum)
        if distribution.license is not None:
            node["dct:license"] = self.license(distribution.license)
        if distribution.availability is not None:
            node[DCATAP + "availability"] = self.ref(distribution.availability, where)
        self.texts(node, "dct:title", distribution.titles)
        self.texts(node, "dct:description", distribution.descriptions)
        self.refs(node, "dct:conformsTo", distribution.conforms_to, f"{where}'s conformsTo")
        return node

    def offer(self, offer: Offer, dataset_id: str) -> JsonObject:
        """A copy of ``offer``, checked: an Offer, no target, a rule, an id no other dataset's
        offer has (the target of a catalogue offer is the dataset it is listed under)."""
        where = f"dataset {dataset_id!r} offer {offer.get('@id')!r}"
        owner = self._offer_owners.setdefault(str(offer.get("@id")), dataset_id)
        if owner != dataset_id:
            raise DspFormError(f"{where}: dataset {owner!r} has an offer with the same @id")
        if offer.get("@type") != "Offer":
            raise DspFormError(f'{where} must have "@type": "Offer"')
        if "target" in offer or "@context" in offer:
            raise DspFormError(f"{where}: catalogue offers carry no target and no @context")
        if not offer.get("permission") and not offer.get("prohibition"):
            raise DspFormError(f"{where} needs a permission or a prohibition")
        copied: JsonObject = copy_json(offer)
        return copied

    def dataset(self, dataset: Dataset) -> JsonObject:
        where = f"dataset {dataset.id!r}"
        if (self._offers_required and not dataset.offers) or not dataset.distributions:
            raise DspFormError(f"{where} needs at least one offer and one distribution in DSP")
        node: JsonObject = {
            "@id": self.iri(dataset.id, f"{where} id"),
            "@type": ["Dataset", "dcat:DatasetSeries"] if dataset.is_series else "Dataset",
        }
        self.texts(node, "dct:title", dataset.titles)
        self.texts(node, "dct:description", dataset.descriptions)
        self.texts(node, "dcat:keyword", dataset.keywords)
        self.refs(node, "dcat:theme", dataset.themes, f"{where} theme")
        self.refs(node, "dct:spatial", dataset.spatial, f"{where} spatial")
        if dataset.temporal:
            node["dct:temporal"] = self.one([self.period(p) for p in dataset.temporal])
        if dataset.temporal_resolution is not None:
            node["dcat:temporalResolution"] = {
                "@value": dataset.temporal_resolution,
                "@type": "xsd:duration",
            }
        if dataset.accrual_periodicity is not None:
            node["dct:accrualPeriodicity"] = self.ref(dataset.accrual_periodicity, where)
        if dataset.publisher is not None:
            node["dct:publisher"] = self.agent(dataset.publisher)
        if dataset.contact_points:
            node["dcat:contactPoint"] = self.one([self.contact(c) for c in dataset.contact_points])
        if dataset.access_rights is not None:
            node["dct:accessRights"] = self.ref(dataset.access_rights, f"{where} access rights")
        if dataset.issued is not None:
            node["dct:issued"] = self.moment(dataset.issued)
        if dataset.modified is not None:
            node["dct:modified"] = self.moment(dataset.modified)
        self.refs(node, "dct:conformsTo", dataset.conforms_to, f"{where} conformsTo")
        self.refs(node, "dct:language", dataset.languages, f"{where} language")
        self.refs(node, "dcat:inSeries", dataset.in_series, f"{where} series")
        if dataset.table_schema is not None:
            node[CSVW + "tableSchema"] = self.table_schema(dataset.table_schema)
        node["hasPolicy"] = [self.offer(offer, dataset.id) for offer in dataset.offers]
        node["distribution"] = [self.distribution(d, dataset.id) for d in dataset.distributions]
        return node

    def catalog(self, catalog: Catalog, *, root: bool) -> JsonObject:
        node: JsonObject = {"@context": dsp_context()} if root else {}
        node["@id"] = self.iri(catalog.id, "the catalogue's id")
        node["@type"] = "Catalog"
        if catalog.participant_id is not None:
            node["participantId"] = self.iri(catalog.participant_id, "the participant id")
        elif root:
            raise DspFormError("a DSP catalogue needs a participant id")
        if root and not catalog.services:
            raise DspFormError("a DSP catalogue needs at least one data service")
        self.texts(node, "dct:title", catalog.titles)
        self.texts(node, "dct:description", catalog.descriptions)
        if catalog.publisher is not None:
            node["dct:publisher"] = self.agent(catalog.publisher)
        if catalog.homepage is not None:
            node[FOAF + "homepage"] = self.ref(catalog.homepage, "the catalogue's homepage")
        self.refs(node, "dct:language", catalog.languages, "the catalogue's language")
        if catalog.license is not None:
            node["dct:license"] = self.license(catalog.license)
        if catalog.issued is not None:
            node["dct:issued"] = self.moment(catalog.issued)
        if catalog.modified is not None:
            node["dct:modified"] = self.moment(catalog.modified)
        if catalog.services:
            node["service"] = [self.service(service) for service in catalog.services]
        if catalog.datasets:
            node["dataset"] = [self.dataset(dataset) for dataset in catalog.datasets]
        if catalog.catalogs:
            node["catalog"] = [self.catalog(nested, root=False) for nested in catalog.catalogs]
        return node
