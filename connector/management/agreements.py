"""``/management/v3/contractagreements``: the agreements of FINALIZED negotiations, both roles
(EDC-compatible). Agreements are immutable: get, query, and the negotiation that made one."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from catalog.jsonld import JsonLdProcessor
from connector.errors import NotFound
from connector.management.auth import AdminPrincipal
from connector.management.body import OptionalExpandedBody
from connector.management.negotiations import query_field, render
from connector.management.policy_forms import edc_policy, response_context
from connector.management.querying import parse_query_spec
from connector.management.resources import epoch_seconds
from connector.node import Node, NodeDep
from connector.store.models import ID_LENGTH
from connector.store.records import AgreementRecord
from connector.store.repositories.agreements import AgreementRepository

router = APIRouter(prefix="/contractagreements", tags=["contract agreements"])

KIND = "contract agreement"


def render_agreement(processor: JsonLdProcessor, record: AgreementRecord) -> dict[str, Any]:
    """EDC's ``ContractAgreement`` form: ``contractSigningDate`` in epoch seconds (as queries
    take it), ``policy`` the agreement the DSP carried, in the EDC policy form."""
    body: dict[str, Any] = {
        "@context": response_context(),
        "@type": "ContractAgreement",
        "@id": record.id,
        "assetId": record.asset_id,
        "providerId": record.provider_id,
        "consumerId": record.consumer_id,
        "contractSigningDate": epoch_seconds(record.signed_at),
        "policy": edc_policy(processor, record.policy),
    }
    if record.negotiation_id is not None:
        body["negotiationId"] = record.negotiation_id
    if record.purpose is not None:
        body["purpose"] = record.purpose
    return body


@router.post("/request", summary="Query contract agreements")
def query_agreements(
    _admin: AdminPrincipal, body: OptionalExpandedBody, node: NodeDep
) -> JSONResponse:
    spec = parse_query_spec(body, query_field)
    with node.database.read() as session:
        found = AgreementRepository(session).query(spec)
    return JSONResponse([render_agreement(node.jsonld, record) for record in found])


def _agreement(node: Node, agreement_id: str) -> AgreementRecord:
    """The stored agreement ``agreement_id``. Its id was chosen by the provider, the peer when
    this node is the consumer: any text of 1 to 256 characters, ``/`` included."""
    if not 0 < len(agreement_id) <= ID_LENGTH:
        raise NotFound(f"{KIND} {agreement_id[:ID_LENGTH]!r} does not exist")
    with node.database.read() as session:
        return AgreementRepository(session).get(agreement_id)


def _negotiation_of(node: Node, record: AgreementRecord) -> JSONResponse:
    if record.negotiation_id is None:
        raise NotFound(f"agreement {record.id!r} has no negotiation on this node")
    return JSONResponse(render(node.jsonld, node.negotiations.get(record.negotiation_id)))


@router.get("/{agreement_id}", summary="Get a contract agreement")
def get_agreement(_admin: AdminPrincipal, agreement_id: str, node: NodeDep) -> JSONResponse:
    return JSONResponse(render_agreement(node.jsonld, _agreement(node, agreement_id)))


@router.get("/{agreement_id}/negotiation", summary="The negotiation that made an agreement")
def get_agreement_negotiation(
    _admin: AdminPrincipal, agreement_id: str, node: NodeDep
) -> JSONResponse:
    return _negotiation_of(node, _agreement(node, agreement_id))


@router.get("/{encoded:path}", include_in_schema=False)
def get_agreement_with_slash(
    _admin: AdminPrincipal, encoded: str, request: Request, node: NodeDep
) -> JSONResponse:
    """The two routes above for an id holding ``/``, written ``%2F`` in the path (as EDC's own
    routes take it): routing sees the decoded path, so the segments are read from the path as
    called."""
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    _, marker, rest = raw.partition(f"{router.prefix}/")
    segments = rest.removesuffix("/").split("/") if marker else []
    if len(segments) == 1:
        return get_agreement(_admin, unquote(segments[0]), node)
    if len(segments) == 2 and segments[1] == "negotiation":
        return get_agreement_negotiation(_admin, unquote(segments[0]), node)
    raise NotFound(f"no {KIND} resource at {request.url.path!r}")
