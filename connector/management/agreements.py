"""``/management/v3/contractagreements``: the agreements of FINALIZED negotiations, both roles
(EDC-compatible). Agreements are immutable: get, query, and the negotiation that made one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from catalog.jsonld import JsonLdProcessor
from connector.errors import NotFound
from connector.management.auth import AdminPrincipal
from connector.management.body import OptionalExpandedBody
from connector.management.negotiations import query_field, render
from connector.management.policy_forms import edc_policy, response_context
from connector.management.querying import parse_query_spec
from connector.management.resources import epoch_seconds, path_id
from connector.node import NodeDep
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


@router.get("/{agreement_id}", summary="Get a contract agreement")
def get_agreement(_admin: AdminPrincipal, agreement_id: str, node: NodeDep) -> JSONResponse:
    with node.database.read() as session:
        record = AgreementRepository(session).get(path_id(agreement_id, KIND))
    return JSONResponse(render_agreement(node.jsonld, record))


@router.get("/{agreement_id}/negotiation", summary="The negotiation that made an agreement")
def get_agreement_negotiation(
    _admin: AdminPrincipal, agreement_id: str, node: NodeDep
) -> JSONResponse:
    with node.database.read() as session:
        record = AgreementRepository(session).get(path_id(agreement_id, KIND))
    if record.negotiation_id is None:
        raise NotFound(f"agreement {agreement_id!r} has no negotiation on this node")
    return JSONResponse(render(node.jsonld, node.negotiations.get(record.negotiation_id)))
