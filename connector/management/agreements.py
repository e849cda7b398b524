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


def _view(request: Request, node: Node) -> JSONResponse:
    """``GET /{id}`` or ``GET /{id}/negotiation``, with the id read from the path as called.

    The provider chooses agreement ids, ``/`` included (written ``%2F``). Routing sees the
    decoded path, where such an id is several segments and could name another agreement
    (``X%2Fnegotiation`` would be agreement ``X``'s negotiation view, ``Y%2F`` agreement ``Y``
    once the trailing ``/`` is dropped), so every view reads its segments from ``raw_path``,
    after the routed prefix, which must be written literally there."""
    base = f"{router.prefix}/"
    path = str(request.scope.get("path", ""))
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    # Where the routed prefix ends: in the decoded path, then in the raw one, written literally
    # (the mount before it holds no "/contractagreements/"; ids come after it).
    mount = path[: path.find(base)] if base in path else None
    if mount is None or not raw.startswith(mount + base):
        raise NotFound(f"no {KIND} resource at {request.url.path!r}")
    base = mount + base
    rest = raw[len(base) :]
    segments = (rest[:-1] if rest.endswith("/") else rest).split("/")  # one literal "/" at most
    if len(segments) == 1:
        return JSONResponse(render_agreement(node.jsonld, _agreement(node, unquote(segments[0]))))
    if len(segments) == 2 and segments[1] == "negotiation":
        return _negotiation_of(node, _agreement(node, unquote(segments[0])))
    raise NotFound(f"no {KIND} resource at {request.url.path!r}")


@router.get("/{agreement_id}", summary="Get a contract agreement")
def get_agreement(
    _admin: AdminPrincipal, agreement_id: str, request: Request, node: NodeDep
) -> JSONResponse:
    """``agreement_id`` percent-encoded (``%2F`` for a ``/`` in it)."""
    return _view(request, node)


@router.get("/{agreement_id}/negotiation", summary="The negotiation that made an agreement")
def get_agreement_negotiation(
    _admin: AdminPrincipal, agreement_id: str, request: Request, node: NodeDep
) -> JSONResponse:
    return _view(request, node)


@router.get("/{encoded:path}", include_in_schema=False)
def get_agreement_with_slash(
    _admin: AdminPrincipal, encoded: str, request: Request, node: NodeDep
) -> JSONResponse:
    """The two routes above when the decoded id holds ``/`` (they match one segment)."""
    return _view(request, node)
