"""Namespaces and the controlled vocabularies the catalogue publishes with.

DCAT-AP 3.0.1 asks for EU vocabulary IRIs (``http://publications.europa.eu/resource/authority/…``)
for themes, frequencies, access rights, file types, languages, countries and licences, and the
official shapes check that each such concept is described in the published graph (a
``skos:Concept`` with a ``skos:prefLabel`` in its ``skos:inScheme`` scheme). :func:`concept`
answers that description for an IRI: the scheme it belongs to and its labels — from the small
table below for the concepts the project uses, else the concept's code (the last path segment) as
its label.

The builders (:func:`theme`, :func:`frequency`…) turn a code into its IRI: ``theme("ECON")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
DCATAP = "http://data.europa.eu/r5r/"
FOAF = "http://xmlns.com/foaf/0.1/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
SPDX = "http://spdx.org/rdf/terms#"
CSVW = "http://www.w3.org/ns/csvw#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
ODRL = "http://www.w3.org/ns/odrl/2/"
XSD = "http://www.w3.org/2001/XMLSchema#"
ADMS = "http://www.w3.org/ns/adms#"
DSPACE = "https://w3id.org/dspace/2025/1/"
ETDS = "https://w3id.org/etds/ns#"
"""The project's own terms (``etds:transferFormat`` in the RDF form of a distribution)."""

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
NUTS_CODE_BASE = "http://data.europa.eu/nuts/code/"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
PUBLISHER_TYPES = "http://purl.org/adms/publishertype/"
LICENCE_TYPES = "http://purl.org/adms/licencetype/"

DATA_THEME = EU_AUTHORITY + "data-theme"
FREQUENCY = EU_AUTHORITY + "frequency"
ACCESS_RIGHT = EU_AUTHORITY + "access-right"
FILE_TYPE = EU_AUTHORITY + "file-type"
LANGUAGE = EU_AUTHORITY + "language"
COUNTRY = EU_AUTHORITY + "country"
LICENCE = EU_AUTHORITY + "licence"
PLANNED_AVAILABILITY = EU_AUTHORITY + "planned-availability"
PUBLISHER_TYPE_SCHEME = PUBLISHER_TYPES + "1.0"
LICENCE_TYPE_SCHEME = LICENCE_TYPES + "1.0"

CHECKSUM_SHA256 = SPDX + "checksumAlgorithm_sha256"
CHECKSUM_SHA1 = SPDX + "checksumAlgorithm_sha1"
DSP_2025_1 = DSPACE
"""What a DSP 2025-1 data service ``dct:conformsTo``."""


def theme(code: str) -> str:
    """``theme("ECON")`` → the EU data-theme IRI."""
    return f"{DATA_THEME}/{code}"


def frequency(code: str) -> str:
    """``frequency("WEEKLY")`` → the EU frequency IRI."""
    return f"{FREQUENCY}/{code}"


def access_right(code: str) -> str:
    """``access_right("RESTRICTED")`` → the EU access-right IRI."""
    return f"{ACCESS_RIGHT}/{code}"


def file_type(code: str) -> str:
    """``file_type("PARQUET")`` → the EU file-type IRI."""
    return f"{FILE_TYPE}/{code}"


def language(code: str) -> str:
    """``language("FRA")`` → the EU language IRI."""
    return f"{LANGUAGE}/{code}"


def country(code: str) -> str:
    """``country("FRA")`` → the EU country IRI."""
    return f"{COUNTRY}/{code}"


def licence(code: str) -> str:
    """``licence("CC_BY_4_0")`` → the EU licence IRI."""
    return f"{LICENCE}/{code}"


def availability(code: str) -> str:
    """``availability("STABLE")`` → the EU planned-availability IRI."""
    return f"{PLANNED_AVAILABILITY}/{code}"


def nuts(code: str) -> str:
    """``nuts("FRJ13")`` → the NUTS IRI."""
    return NUTS_CODE_BASE + code


def publisher_type(name: str) -> str:
    """``publisher_type("NationalAuthority")`` → the ADMS publisher-type IRI."""
    return PUBLISHER_TYPES + name


def licence_type(name: str) -> str:
    """``licence_type("Attribution")`` → the ADMS licence-type IRI."""
    return LICENCE_TYPES + name


def media_type_iri(media_type: str) -> str:
    """``"text/csv"`` → ``https://www.iana.org/assignments/media-types/text/csv``."""
    return IANA_MEDIA_TYPES + media_type


@dataclass(frozen=True, slots=True)
class ConceptScheme:
    """A vocabulary: its IRI, its title and the RDF classes its concepts are used as."""

    iri: str
    title: str
    classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Concept:
    """A concept of a known scheme with its labels (``(text, language)``)."""

    iri: str
    scheme: ConceptScheme
    labels: tuple[tuple[str, str], ...]


_SCHEMES = (
    ConceptScheme(DATA_THEME, "Data theme", (SKOS + "Concept",)),
    ConceptScheme(FREQUENCY, "Frequency", (DCT + "Frequency", SKOS + "Concept")),
    ConceptScheme(ACCESS_RIGHT, "Access right", (DCT + "RightsStatement", SKOS + "Concept")),
    ConceptScheme(FILE_TYPE, "File type", (DCT + "MediaTypeOrExtent", SKOS + "Concept")),
    ConceptScheme(LANGUAGE, "Language", (DCT + "LinguisticSystem", SKOS + "Concept")),
    ConceptScheme(COUNTRY, "Country", (DCT + "Location", SKOS + "Concept")),
    ConceptScheme(LICENCE, "Licence", (DCT + "LicenseDocument", SKOS + "Concept")),
    ConceptScheme(PLANNED_AVAILABILITY, "Planned availability", (SKOS + "Concept",)),
    ConceptScheme(PUBLISHER_TYPE_SCHEME, "Publisher type", (SKOS + "Concept",)),
    ConceptScheme(LICENCE_TYPE_SCHEME, "Licence type", (SKOS + "Concept",)),
)
_SCHEME_OF_BASE = MappingProxyType(
    {
        **{scheme.iri + "/": scheme for scheme in _SCHEMES[:8]},
        PUBLISHER_TYPES: _SCHEMES[8],
        LICENCE_TYPES: _SCHEMES[9],
    }
)

# Labels of the concepts the project uses: code → (English, French).
_LABELS: MappingProxyType[str, tuple[str, str]] = MappingProxyType(
    {
        theme("AGRI"): (
            "Agriculture, fisheries, forestry and food",
            "Agriculture, pêche, sylviculture et alimentation",
        ),
        theme("ECON"): ("Economy and finance", "Économie et finances"),
        theme("EDUC"): ("Education, culture and sport", "Éducation, culture et sport"),
        theme("ENER"): ("Energy", "Énergie"),
        theme("ENVI"): ("Environment", "Environnement"),
        theme("GOVE"): ("Government and public sector", "Gouvernement et secteur public"),
        theme("HEAL"): ("Health", "Santé"),
        theme("INTR"): ("International issues", "Questions internationales"),
        theme("JUST"): (
            "Justice, legal system and public safety",
            "Justice, système juridique et sécurité publique",
        ),
        theme("REGI"): ("Regions and cities", "Régions et villes"),
        theme("SOCI"): ("Population and society", "Population et société"),
        theme("TECH"): ("Science and technology", "Science et technologie"),
        theme("TRAN"): ("Transport", "Transports"),
        frequency("DAILY"): ("daily", "quotidien"),
        frequency("WEEKLY"): ("weekly", "hebdomadaire"),
        frequency("MONTHLY"): ("monthly", "mensuel"),
        frequency("QUARTERLY"): ("quarterly", "trimestriel"),
        frequency("ANNUAL"): ("annual", "annuel"),
        frequency("IRREG"): ("irregular", "irrégulier"),
        access_right("PUBLIC"): ("public", "public"),
        access_right("RESTRICTED"): ("restricted", "restreint"),
        access_right("NON_PUBLIC"): ("non-public", "non public"),
        file_type("PARQUET"): ("Parquet", "Parquet"),
        file_type("CSV"): ("CSV", "CSV"),
        file_type("JSON"): ("JSON", "JSON"),
        language("FRA"): ("French", "français"),
        language("ENG"): ("English", "anglais"),
        country("FRA"): ("France", "France"),
        licence("CC_BY_4_0"): (
            "Creative Commons Attribution 4.0 International",
            "Creative Commons Attribution 4.0 International",
        ),
        availability("STABLE"): ("stable", "stable"),
        availability("AVAILABLE"): ("available", "disponible"),
        availability("EXPERIMENTAL"): ("experimental", "expérimental"),
        availability("TEMPORARY"): ("temporary", "temporaire"),
        publisher_type("NationalAuthority"): ("National authority", "Autorité nationale"),
        publisher_type("RegionalAuthority"): ("Regional authority", "Autorité régionale"),
        publisher_type("LocalAuthority"): ("Local authority", "Autorité locale"),
        publisher_type("Company"): ("Company", "Entreprise"),
        licence_type("Attribution"): ("Attribution", "Attribution"),
    }
)


def scheme_of(iri: str) -> ConceptScheme | None:
    """The known vocabulary ``iri`` belongs to (None for any other IRI, NUTS included)."""
    for base, scheme in _SCHEME_OF_BASE.items():
        if iri.startswith(base) and len(iri) > len(base) and "/" not in iri[len(base) :]:
            return scheme
    return None


def concept(iri: str) -> Concept | None:
    """The description of ``iri`` as a concept of a known vocabulary, or None."""
    scheme = scheme_of(iri)
    if scheme is None:
        return None
    known = _LABELS.get(iri)
    if known is None:
        code = iri.rsplit("/", 1)[1]
        return Concept(iri, scheme, ((code, "en"),))
    english, french = known
    return Concept(iri, scheme, ((english, "en"), (french, "fr")))


def in_vocabulary(iri: str, scheme_iri: str) -> bool:
    """Whether ``iri`` is a concept IRI of the vocabulary ``scheme_iri``."""
    scheme = scheme_of(iri)
    return scheme is not None and scheme.iri == scheme_iri
