"""The JSON-LD contexts the node bundles, authored here from the Dataspace Protocol 2025-1 text.

The DSP 2025-1 context (``https://w3id.org/dspace/2025/1/context.jsonld``) is protected and mostly
type-scoped: each message type brings its own terms, and ODRL terms come from an imported profile
(``…/odrl-profile.jsonld``) in the types that carry policies (written out in place here, which
expands the same). The tables below say which terms each
type defines; :func:`dspace_context` and :func:`odrl_profile_context` build the documents. A test
expands every official example with these documents and with the official ones and requires the
results to be identical (including the spec's quirks, such as ``TransferError`` pids being plain
strings rather than identifiers).

:func:`bundled_contexts` maps each URL to its document for :class:`catalog.jsonld.JsonLdProcessor`.
"""

from __future__ import annotations

from typing import Any

from catalog.jsonld import JsonLdProcessor

DSPACE_CONTEXT_URL = "https://w3id.org/dspace/2025/1/context.jsonld"
ODRL_PROFILE_URL = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"

DSPACE = "https://w3id.org/dspace/2025/1/"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
ODRL = "http://www.w3.org/ns/odrl/2/"
XSD = "http://www.w3.org/2001/XMLSchema#"
DID_SERVICE_ENDPOINT = "https://www.w3.org/ns/did#serviceEndpoint"

Definition = str | dict[str, Any]


def _id(iri: str) -> dict[str, str]:
    """A term whose values are identifiers."""
    return {"@id": iri, "@type": "@id"}


def _vocab(iri: str) -> dict[str, str]:
    """A term whose values are vocabulary terms (``"REQUESTED"`` → ``dspace:REQUESTED``)."""
    return {"@id": iri, "@type": "@vocab"}


def _set(iri: str, **extra: str) -> dict[str, str]:
    """A term whose values always compact to an array."""
    return {"@id": iri, "@container": "@set", **extra}


# Terms shared by several message types.
_PIDS: dict[str, Definition] = {
    "providerPid": _id("dspace:providerPid"),
    "consumerPid": _id("dspace:consumerPid"),
}
_ERROR: dict[str, Definition] = {"code": "dspace:code", "reason": _set("dspace:reason")}
_NEGOTIATION_OFFER: dict[str, Definition] = {
    "callbackAddress": "dspace:callbackAddress",
    **_PIDS,
    "offer": _id("dspace:offer"),
}

# Type name → (IRI, its scoped terms, whether it imports the ODRL profile).
_TYPES: dict[str, tuple[str, dict[str, Definition], bool]] = {
    # Catalogue
    "CatalogRequestMessage": (
        "dspace:CatalogRequestMessage",
        {"filter": _set("dspace:filter")},
        False,
    ),
    "DatasetRequestMessage": ("dspace:DatasetRequestMessage", {"dataset": "dspace:dataset"}, False),
    "CatalogError": ("dspace:CatalogError", _ERROR, False),
    "Catalog": (
        "dcat:Catalog",
        {
            "participantId": _id("dspace:participantId"),
            "service": _set("dcat:service"),
            "catalog": _set("dcat:catalog"),
            "dataset": _set("dcat:dataset"),
            "distribution": _set("dcat:distribution"),
        },
        False,
    ),
    "Dataset": (
        "dcat:Dataset",
        {"distribution": _set("dcat:distribution"), "hasPolicy": _set("odrl:hasPolicy")},
        True,
    ),
    "Distribution": (
        "dcat:Distribution",
        {"format": _vocab("dct:format"), "accessService": {"@id": "dcat:accessService"}},
        False,
    ),
    "DataService": (
        "dcat:DataService",
        {"endpointURL": "dcat:endpointURL", "endpointDescription": "dcat:endpointDescription"},
        False,
    ),
    "CatalogService": (
        "dspace:CatalogService",
        {"id": "@id", "type": "@type", "serviceEndpoint": _id(DID_SERVICE_ENDPOINT)},
        False,
    ),
    # Contract negotiation
    "ContractRequestMessage": ("dspace:ContractRequestMessage", _NEGOTIATION_OFFER, True),
    "ContractOfferMessage": ("dspace:ContractOfferMessage", _NEGOTIATION_OFFER, True),
    "ContractAgreementMessage": (
        "dspace:ContractAgreementMessage",
        {**_PIDS, "agreement": _id("dspace:agreement"), "timestamp": "dspace:timestamp"},
        True,
    ),
    "ContractAgreementVerificationMessage": (
        "dspace:ContractAgreementVerificationMessage",
        _PIDS,
        False,
    ),
    "ContractNegotiationEventMessage": (
        "dspace:ContractNegotiationEventMessage",
        {**_PIDS, "eventType": _vocab("dspace:eventType")},
        False,
    ),
    "ContractNegotiationTerminationMessage": (
        "dspace:ContractNegotiationTerminationMessage",
        {**_ERROR, **_PIDS},
        False,
    ),
    "ContractNegotiation": (
        "dspace:ContractNegotiation",
        {**_PIDS, "state": _vocab("dspace:state")},
        False,
    ),
    "ContractNegotiationError": ("dspace:ContractNegotiationError", {**_PIDS, **_ERROR}, False),
    # Transfer process
    "TransferRequestMessage": (
        "dspace:TransferRequestMessage",
        {
            "callbackAddress": "dspace:callbackAddress",
            "dataAddress": "dspace:dataAddress",
            "consumerPid": _id("dspace:consumerPid"),
            "format": _vocab("dct:format"),
            "agreementId": _id("dspace:agreementId"),
        },
        False,
    ),
    "TransferStartMessage": (
        "dspace:TransferStartMessage",
        {**_PIDS, "dataAddress": "dspace:dataAddress"},
        False,
    ),
    "TransferCompletionMessage": ("dspace:TransferCompletionMessage", _PIDS, False),
    "TransferSuspensionMessage": ("dspace:TransferSuspensionMessage", {**_ERROR, **_PIDS}, False),
    "TransferTerminationMessage": (
        "dspace:TransferTerminationMessage",
        {**_ERROR, **_PIDS},
        False,
    ),
    "TransferProcess": (
        "dspace:TransferProcess",
        {**_PIDS, "state": _vocab("dspace:state")},
        False,
    ),
    # The 2025-1 context defines TransferError's pids as plain strings (not identifiers).
    "TransferError": (
        "dspace:TransferError",
        {**_ERROR, "providerPid": "dspace:providerPid", "consumerPid": "dspace:consumerPid"},
        False,
    ),
    "DataAddress": (
        "dspace:DataAddress",
        {
            "endpointType": _vocab("dspace:endpointType"),
            "endpoint": "dspace:endpoint",
            "endpointProperties": _set("dspace:endpointProperties"),
        },
        False,
    ),
    "EndpointProperty": (
        "dspace:EndpointProperty",
        {"name": "dspace:name", "value": "dspace:value"},
        False,
    ),
    "VersionsError": ("dspace:VersionsError", _ERROR, False),
}

STATES = (
    "REQUESTED",
    "OFFERED",
    "ACCEPTED",
    "AGREED",
    "VERIFIED",
    "FINALIZED",
    "STARTED",
    "SUSPENDED",
    "COMPLETED",
    "TERMINATED",
)

# The ODRL profile: classes and individuals map to ODRL IRIs; properties below.
_ODRL_PLAIN_TERMS = [
    "Policy",
    "Rule",
    "Agreement",
    "Assertion",
    "Offer",
    "Set",
    "Asset",
    "Action",
    "Permission",
    "Prohibition",
    "Duty",
    "Constraint",
    "Operator",
    "RightOperand",
    "LeftOperand",
    "prohibit",
    "use",
    "rightOperand",
    "eq",
    "gt",
    "gteq",
    "lt",
    "lteq",
    "neq",
    "isA",
    "hasPart",
    "isPartOf",
    "isAllOf",
    "isAnyOf",
    "isNoneOf",
    "or",
    "xone",
    "and",
    "andSequence",
]
_ODRL_PROPERTIES: dict[str, Definition] = {
    "profile": _id("odrl:profile"),
    "hasPolicy": _id("odrl:hasPolicy"),
    "target": _id("odrl:target"),
    "assignee": _id("odrl:assignee"),
    "assigner": _id("odrl:assigner"),
    "action": _vocab("odrl:action"),
    "operator": _vocab("odrl:operator"),
    "leftOperand": _vocab("odrl:leftOperand"),
    **{
        rule: _set(f"odrl:{rule}", **{"@type": "@id"})
        for rule in ("permission", "prohibition", "obligation", "duty", "constraint")
    },
}


def _scoped(terms: dict[str, Definition], *, imports_odrl: bool) -> dict[str, Any]:
    """A type's scoped context. The official context ``@import``s the ODRL profile in the types
    that carry policies; here the profile's terms are written out in place, which means the same
    (an import is the imported terms, overridden by the importing context's own) and lets a
    processed scoped context be reused: pyld caches an ``@import`` merged with the first context
    that imported it and hands that to the next importer (see :mod:`catalog.jsonld`)."""
    scoped: dict[str, Any] = {"@version": 1.1, "@protected": True}
    if imports_odrl:
        scoped.update(odrl_profile_context()["@context"])
        scoped["@propagate"] = True
    scoped.update(terms)
    return scoped


def dspace_context() -> dict[str, Any]:
    """The DSP 2025-1 context document."""
    context: dict[str, Any] = {
        "@version": 1.1,
        "@protected": True,
        "xsd": XSD,
        "dct": DCT,
        "dcat": DCAT,
        "odrl": ODRL,
        "dspace": DSPACE,
    }
    for name, (iri, terms, imports_odrl) in _TYPES.items():
        context[name] = {"@id": iri, "@context": _scoped(terms, imports_odrl=imports_odrl)}
    context.update({state: f"dspace:{state}" for state in STATES})
    return {"@context": context}


def odrl_profile_context() -> dict[str, Any]:
    """The ODRL profile the DSP 2025-1 context imports."""
    context: dict[str, Any] = {"odrl": ODRL}
    context.update({term: f"odrl:{term}" for term in _ODRL_PLAIN_TERMS})
    context.update(_ODRL_PROPERTIES)
    return {"@context": context}


def bundled_contexts() -> dict[str, dict[str, Any]]:
    """URL → context document, for every context the node resolves without a network."""
    return {DSPACE_CONTEXT_URL: dspace_context(), ODRL_PROFILE_URL: odrl_profile_context()}


def dsp_processor() -> JsonLdProcessor:
    """A JSON-LD processor that knows the DSP 2025-1 contexts."""
    return JsonLdProcessor(bundled_contexts())
