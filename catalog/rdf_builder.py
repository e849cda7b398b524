"""The DCAT-AP triples of each model object (see :mod:`catalog.rdf`)."""

from __future__ import annotations

from datetime import date

from rdflib import RDF, BNode, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from catalog.model import (
    Agent,
    Catalog,
    ContactPoint,
    DataService,
    Dataset,
    Distribution,
    LicenseDocument,
    PeriodOfTime,
    TableSchema,
)
from catalog.rdf_terms import Terms
from catalog.vocabulary import (
    CSVW,
    DCAT,
    DCATAP,
    DCT,
    DSPACE,
    ETDS,
    FOAF,
    SKOS,
    SPDX,
    VCARD,
    XSD,
    media_type_iri,
    scheme_of,
)

CONCEPT = SKOS + "Concept"


class GraphBuilder:
    """Adds the DCAT-AP triples of model objects to a graph (through :class:`Terms`)."""

    def __init__(self, terms: Terms) -> None:
        self.t = terms
        self.services: dict[str, Node] = {}

    def agent(self, agent: Agent) -> Node:
        node = self.t.subject(agent.id)
        self.t.add(node, RDF.type, URIRef(FOAF + "Agent"))
        self.t.texts(node, FOAF + "name", agent.names)
        self.t.link(node, DCT + "type", agent.type, CONCEPT)
        self.t.link(node, FOAF + "homepage", agent.homepage, FOAF + "Document")
        return node

    def contact(self, contact: ContactPoint) -> Node:
        node = self.t.subject(contact.id)
        self.t.add(node, RDF.type, URIRef(VCARD + "Kind"))
        if contact.name is not None:
            self.t.add(node, VCARD + "fn", Literal(contact.name))
        if contact.email is not None:
            self.t.add(node, VCARD + "hasEmail", URIRef("mailto:" + contact.email))
        if contact.url is not None:
            self.t.add(node, VCARD + "hasURL", URIRef(contact.url))
        return node

    def period(self, period: PeriodOfTime) -> Node:
        node = BNode()
        self.t.add(node, RDF.type, URIRef(DCT + "PeriodOfTime"))
        if period.start is not None:
            self.t.add(node, DCAT + "startDate", self.t.moment(period.start))
        if period.end is not None:
            self.t.add(node, DCAT + "endDate", self.t.moment(period.end))
        return node

    def dates(self, subject: Node, issued: date | None, modified: date | None) -> None:
        if issued is not None:
            self.t.add(subject, DCT + "issued", self.t.moment(issued))
        if modified is not None:
            self.t.add(subject, DCT + "modified", self.t.moment(modified))

    def license(self, subject: Node, license: LicenseDocument | None) -> None:
        if license is not None:
            node = self.t.typed(license.iri, DCT + "LicenseDocument")
            self.t.add(subject, DCT + "license", node)
            self.t.link(node, DCT + "type", license.type, CONCEPT)

    def table_schema(self, subject: Node, schema: TableSchema) -> None:
        node = BNode()
        self.t.add(subject, CSVW + "tableSchema", node)
        self.t.add(node, RDF.type, URIRef(CSVW + "Schema"))
        columns: list[Node] = []
        for column in schema.columns:
            item = BNode()
            self.t.add(item, RDF.type, URIRef(CSVW + "Column"))
            self.t.add(item, CSVW + "name", Literal(column.name))
            self.t.add(item, CSVW + "datatype", URIRef(column.datatype_iri))
            self.t.texts(item, CSVW + "titles", column.titles)
            self.t.texts(item, DCT + "description", column.descriptions)
            if column.required:
                self.t.add(item, CSVW + "required", Literal(True))
            columns.append(item)
        head = BNode()
        Collection(self.t.graph, head, columns)
        self.t.add(node, CSVW + "column", head)

    def service(self, service: DataService) -> Node:
        if service.id in self.services:
            return self.services[service.id]
        node = self.t.node(service.id)
        self.services[service.id] = node
        self.t.add(node, RDF.type, URIRef(DCAT + "DataService"))
        self.t.add(node, DCAT + "endpointURL", URIRef(service.endpoint_url))
        self.t.texts(node, DCT + "title", service.titles)
        self.t.texts(node, DCT + "description", service.descriptions)
        if service.endpoint_description is not None:
            self.t.add(node, DCAT + "endpointDescription", URIRef(service.endpoint_description))
        for standard in service.conforms_to:
            self.t.link(node, DCT + "conformsTo", standard, DCT + "Standard")
        return node

    def distribution(self, distribution: Distribution, dataset: Node) -> Node:
        node = self.t.subject(distribution.id)
        t = self.t
        t.add(node, RDF.type, URIRef(DCAT + "Distribution"))
        access_url = distribution.access_url
        service = distribution.access_service
        if isinstance(service, DataService):
            service_node = self.service(service)
            access_url = access_url or service.endpoint_url
        elif service is not None:
            service_node = self.services.get(service) or t.node(service)
        if service is not None:
            t.add(node, DCAT + "accessService", service_node)
            t.add(service_node, DCAT + "servesDataset", dataset)
        if access_url is not None:
            t.add(node, DCAT + "accessURL", URIRef(access_url))
        if distribution.format is not None:
            t.add(node, ETDS + "transferFormat", Literal(distribution.format))
        t.link(node, DCT + "format", distribution.file_type, DCT + "MediaTypeOrExtent")
        if distribution.media_type is not None:
            iri = media_type_iri(distribution.media_type)
            t.link(node, DCAT + "mediaType", iri, DCT + "MediaType")
        if distribution.byte_size is not None:
            size = Literal(str(distribution.byte_size), datatype=URIRef(XSD + "nonNegativeInteger"))
            t.add(node, DCAT + "byteSize", size)
        if distribution.checksum is not None:
            checksum = BNode()
            t.add(node, SPDX + "checksum", checksum)
            t.add(checksum, RDF.type, URIRef(SPDX + "Checksum"))
            t.link(
                checksum,
                SPDX + "algorithm",
                distribution.checksum.algorithm,
                SPDX + "ChecksumAlgorithm",
            )
            value = Literal(distribution.checksum.value, datatype=URIRef(XSD + "hexBinary"))
            t.add(checksum, SPDX + "checksumValue", value)
        self.license(node, distribution.license)
        t.link(node, DCATAP + "availability", distribution.availability, CONCEPT)
        t.texts(node, DCT + "title", distribution.titles)
        t.texts(node, DCT + "description", distribution.descriptions)
        for standard in distribution.conforms_to:
            t.link(node, DCT + "conformsTo", standard, DCT + "Standard")
        return node

    def dataset(self, dataset: Dataset) -> Node:
        t = self.t
        node = t.node(dataset.id)
        t.add(node, RDF.type, URIRef(DCAT + "Dataset"))
        if dataset.is_series:
            t.add(node, RDF.type, URIRef(DCAT + "DatasetSeries"))
        t.texts(node, DCT + "title", dataset.titles)
        t.texts(node, DCT + "description", dataset.descriptions)
        t.texts(node, DCAT + "keyword", dataset.keywords)
        for theme in dataset.themes:
            t.link(node, DCAT + "theme", theme, CONCEPT)
        for place in dataset.spatial:
            t.link(node, DCT + "spatial", place, DCT + "Location")
        for period in dataset.temporal:
            t.add(node, DCT + "temporal", self.period(period))
        if dataset.temporal_resolution is not None:
            resolution = Literal(dataset.temporal_resolution, datatype=URIRef(XSD + "duration"))
            t.add(node, DCAT + "temporalResolution", resolution)
        t.link(node, DCT + "accrualPeriodicity", dataset.accrual_periodicity, DCT + "Frequency")
        if dataset.publisher is not None:
            t.add(node, DCT + "publisher", self.agent(dataset.publisher))
        for contact in dataset.contact_points:
            t.add(node, DCAT + "contactPoint", self.contact(contact))
        t.link(node, DCT + "accessRights", dataset.access_rights, DCT + "RightsStatement")
        self.dates(node, dataset.issued, dataset.modified)
        for standard in dataset.conforms_to:
            t.link(node, DCT + "conformsTo", standard, DCT + "Standard")
        for language in dataset.languages:
            t.link(node, DCT + "language", language, DCT + "LinguisticSystem")
        for series in dataset.in_series:
            series_node = t.node(series)
            t.add(node, DCAT + "inSeries", series_node)
            t.add(series_node, RDF.type, URIRef(DCAT + "DatasetSeries"))
        if dataset.table_schema is not None:
            self.table_schema(node, dataset.table_schema)
        for distribution in dataset.distributions:
            t.add(node, DCAT + "distribution", self.distribution(distribution, node))
        return node

    def catalog(self, catalog: Catalog) -> Node:
        t = self.t
        node = t.node(catalog.id)
        t.add(node, RDF.type, URIRef(DCAT + "Catalog"))
        if catalog.participant_id is not None:
            t.add(node, DSPACE + "participantId", t.node(catalog.participant_id))
        t.texts(node, DCT + "title", catalog.titles)
        t.texts(node, DCT + "description", catalog.descriptions)
        if catalog.publisher is not None:
            t.add(node, DCT + "publisher", self.agent(catalog.publisher))
        t.link(node, FOAF + "homepage", catalog.homepage, FOAF + "Document")
        for language in catalog.languages:
            t.link(node, DCT + "language", language, DCT + "LinguisticSystem")
        self.license(node, catalog.license)
        self.dates(node, catalog.issued, catalog.modified)
        for service in catalog.services:
            t.add(node, DCAT + "service", self.service(service))
        taxonomies: dict[str, None] = {}
        for dataset in catalog.datasets:
            t.add(node, DCAT + "dataset", self.dataset(dataset))
            for theme in dataset.themes:
                scheme = scheme_of(theme)
                if scheme is not None:
                    taxonomies[scheme.iri] = None
        for taxonomy in taxonomies:
            t.add(node, DCAT + "themeTaxonomy", URIRef(taxonomy))
        for nested in catalog.catalogs:
            t.add(node, DCAT + "catalog", self.catalog(nested))
        return node
