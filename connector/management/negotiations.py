"""``/management/v3/contractnegotiations``: negotiations as consumer and as provider
(EDC-compatible, plus the administrator's decisions of a manual negotiation).

* ``POST ""`` — start a negotiation as consumer. EDC ``ContractRequest``: ``counterPartyAddress``
  (the provider's DSP base URL), ``protocol`` (``dataspace-protocol-http:2025-1`` if given),
  ``counterPartyId`` (else the policy's ``assigner``), ``policy`` (the offer as the provider's
  catalogue shows it, with its ``@id`` and ``target``), and two etds members: ``autoAccept``
  (default ``true``: accept offers equal to the one requested, verify agreements) and
  ``purpose`` (a DPV purpose IRI the request declares to the provider).
* ``POST /offers`` — start a negotiation as provider (etds): ``ContractOfferRequest`` with
  ``counterPartyAddress`` (the consumer's DSP base URL), ``counterPartyId`` (its participant
  id), ``contractDefinitionId`` and ``assetId`` (the dataset offered, a series member
  included): the offer that definition makes for it goes to the consumer, which decides.
* ``GET /{id}``, ``GET /{id}/state``, ``GET /{id}/agreement``, ``GET /{id}/history`` (every
  message sent and received, for audit), ``POST /request`` (query).
* ``POST /{id}/terminate`` (body ``TerminateNegotiation`` with an optional ``reason``).
* Decisions, each ``204`` once the message is stored to go out, ``409`` when the negotiation's
  state does not allow it: as provider ``/offer`` (body: an ODRL offer → counter-offer),
  ``/agree``, ``/finalize``; as consumer ``/accept``, ``/counter`` (body: an ODRL offer),
  ``/verify``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Response
from fastapi.responses import JSONResponse

from catalog.jsonld import JsonLdProcessor, JsonObject
from connector.errors import BadRequest, Conflict, FieldError
from connector.http.outbound import check_outbound_url_async
from connector.management.auth import Administrator, AdminPrincipal
from connector.management.body import ExpandedBody, OptionalExpandedBody
from connector.management.policy_definitions import InvalidPolicy
from connector.management.policy_forms import edc_policy, response_context
from connector.management.querying import parse_query_spec
from connector.management.resources import epoch_millis, id_response, one_node, path_id
from connector.management.vocabulary import (
    EDC,
    EDC_CONTEXT,
    node_types,
    resolve_term,
    single_literal,
    values,
)
from connector.negotiation.intent import display_state
from connector.negotiation.states import Message, Role
from connector.negotiation.terms import PROTOCOL
from connector.node import Node, NodeDep
from connector.store.records import NegotiationRecord
from connector.store.repositories.negotiations import NegotiationRepository
from policies import (
    Policy,
    PolicyError,
    PolicyKind,
    PolicyValidationError,
    policy_from_expanded,
    validate_policy,
)

log = logging.getLogger("etds.management")

router = APIRouter(prefix="/contractnegotiations", tags=["contract negotiations"])

KIND = "contract negotiation"
PROTOCOLS = frozenset({PROTOCOL, "dataspace-protocol-http"})
ACTIONS: dict[str, tuple[Role, Message]] = {
    "offer": ("provider", Message.OFFER),
    "agree": ("provider", Message.AGREE),
    "finalize": ("provider", Message.FINALIZE),
    "accept": ("consumer", Message.ACCEPT),
    "counter": ("consumer", Message.REQUEST),
    "verify": ("consumer", Message.VERIFY),
}


def query_field(term: str) -> str:
    """A query's field name as the store knows it (``state``, ``counterpartyId``…)."""
    return resolve_term(term).removeprefix(EDC)


def _string(node: JsonObject, term: str, *, required: bool = False) -> str | None:
    value = single_literal(node, EDC + term, term)
    if value is None and required:
        raise BadRequest(f"'{term}' is required", errors=[FieldError(term, "required")])
    if value is not None and (not isinstance(value, str) or not value or len(value) > 2048):
        raise BadRequest(
            f"'{term}' must be a non-empty string", errors=[FieldError(term, "string")]
        )
    return value


def _policy(node: JsonObject | None, term: str) -> Policy:
    if node is None:
        raise BadRequest(f"'{term}' is required", errors=[FieldError(term, "an ODRL offer")])
    try:
        return policy_from_expanded(node)
    except PolicyError as exc:
        raise BadRequest(f"'{term}' is not a readable ODRL offer: {exc}") from None


def _own_offer(node: JsonObject | None, kind: Message) -> Policy:
    """An administrator's counter-offer (provider) or counter-request (consumer), refused
    before anything is stored or sent (a peer refusing it would end the negotiation): it has a
    permission or a prohibition (DSP), and a counter-offer, whose terms this node will have to
    evaluate and enforce, is checked as a policy definition is. Its @id (if none) and target
    are set when it is stored."""
    offer = _policy(node, "the body")
    if not offer.permissions and not offer.prohibitions:
        raise InvalidPolicy(
            "the offer needs a permission or a prohibition",
            errors=[FieldError("permission", "an ODRL permission or prohibition")],
        )
    if kind == Message.OFFER:
        try:
            validate_policy(replace(offer, kind=PolicyKind.SET))
        except PolicyValidationError as exc:
            raise InvalidPolicy.refused("offer", exc) from None
    return offer


def _counterparty_address(body: JsonObject, type_name: str) -> str:
    """The ``counterPartyAddress`` of a body that starts a negotiation (of type ``type_name``
    if it says, over this node's protocol if it names one)."""
    types = node_types(body)
    if types and EDC + type_name not in types:
        raise BadRequest(f"the request body must be a {type_name}")
    address = _string(body, "counterPartyAddress", required=True) or ""
    protocol = _string(body, "protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        raise BadRequest(
            f"'protocol' must be {PROTOCOL!r}", errors=[FieldError("protocol", PROTOCOL)]
        )
    return address


def _purpose(node: JsonObject) -> str | None:
    found = values(node, EDC + "purpose")
    if not found:
        return None
    value = found[0]
    purpose = value.get("@id", value.get("@value")) if isinstance(value, dict) else None
    if not isinstance(purpose, str) or ":" not in purpose:
        raise BadRequest(
            "'purpose' must be a DPV purpose IRI", errors=[FieldError("purpose", "IRI")]
        )
    return resolve_term(purpose)


def _auto_accept(node: JsonObject) -> bool:
    value = single_literal(node, EDC + "autoAccept", "autoAccept")
    if value is None:
        return True
    if not isinstance(value, bool):
        raise BadRequest(
            "'autoAccept' must be true or false", errors=[FieldError("autoAccept", "boolean")]
        )
    return value


def render(processor: JsonLdProcessor, record: NegotiationRecord) -> dict[str, Any]:
    """The EDC ``ContractNegotiation`` form, with the DSP pids and the etds mode; the last
    ``offer`` in the EDC policy form (what ``…/counter`` and ``…/offer`` take back)."""
    body: dict[str, Any] = {
        "@context": response_context(),
        "@type": "ContractNegotiation",
        "@id": record.id,
        "type": record.role.upper(),
        "protocol": record.protocol,
        "state": display_state(record),
        "counterPartyId": record.counterparty_id,
        "counterPartyAddress": record.counterparty_address,
        "callbackAddresses": [],
        "createdAt": epoch_millis(record.created_at),
        "providerPid": record.provider_pid,
        "consumerPid": record.consumer_pid,
        "assetId": record.asset_id,
        "mode": record.mode,
    }
    if record.agreement_id is not None:
        body["contractAgreementId"] = record.agreement_id
    if record.error_detail:
        body["errorDetail"] = record.error_detail
    if record.offer is not None:
        body["offer"] = edc_policy(processor, record.offer)
    if record.purpose is not None:
        body["purpose"] = record.purpose
    return body


@router.post("", summary="Start a contract negotiation (as consumer)")
async def start_negotiation(
    _admin: AdminPrincipal, body: ExpandedBody, node: NodeDep, background: BackgroundTasks
) -> JSONResponse:
    address = _counterparty_address(body, "ContractRequest")
    offer = _policy(one_node(body, "policy"), "policy")
    provider_id = _string(body, "counterPartyId") or offer.assigner
    if not provider_id:
        raise BadRequest(
            "'counterPartyId' (or the policy's 'assigner') is required",
            errors=[FieldError("counterPartyId", "required")],
        )
    auto, purpose = _auto_accept(body), _purpose(body)
    # The host name resolved on a thread; the negotiation work checks the rest again.
    await check_outbound_url_async(
        address.strip().rstrip("/") + "/negotiations/request", node.settings.security
    )
    record, then = await node.negotiation_dispatcher.applied(
        provider_id,
        lambda place: node.negotiation_actions.start(
            provider_id=provider_id,
            address=address,
            offer=offer,
            auto=auto,
            purpose=purpose,
            place=place,
        ),
    )
    background.add_task(then)
    return JSONResponse(id_response(node.jsonld, record.id, record.created_at))


@router.post("/offers", summary="Offer a contract to a participant (as provider)")
async def offer_contract(_admin: AdminPrincipal, body: ExpandedBody, node: NodeDep) -> JSONResponse:
    address = _counterparty_address(body, "ContractOfferRequest")
    consumer_id = _string(body, "counterPartyId", required=True) or ""
    definition_id = _string(body, "contractDefinitionId", required=True) or ""
    dataset = _string(body, "assetId", required=True) or ""
    # The host name resolved on a thread; the negotiation work checks the rest again.
    await check_outbound_url_async(
        address.strip().rstrip("/") + "/negotiations/offers", node.settings.security
    )
    record = await node.database.run(
        lambda: node.negotiation_actions.offer(
            consumer_id=consumer_id, address=address, definition_id=definition_id, dataset=dataset
        )
    )
    return JSONResponse(id_response(node.jsonld, record.id, record.created_at))


@router.post("/request", summary="Query contract negotiations")
def query_negotiations(
    _admin: AdminPrincipal, body: OptionalExpandedBody, node: NodeDep
) -> JSONResponse:
    spec = parse_query_spec(body, query_field)
    with node.database.read() as session:
        found = NegotiationRepository(session).query(spec)
    return JSONResponse([render(node.jsonld, record) for record in found])


def _get(node: Node, negotiation_id: str) -> NegotiationRecord:
    return node.negotiations.get(path_id(negotiation_id, KIND))


@router.get("/{negotiation_id}", summary="Get a contract negotiation")
def get_negotiation(_admin: AdminPrincipal, negotiation_id: str, node: NodeDep) -> JSONResponse:
    return JSONResponse(render(node.jsonld, _get(node, negotiation_id)))


@router.get("/{negotiation_id}/state", summary="The state of a contract negotiation")
def get_state(_admin: AdminPrincipal, negotiation_id: str, node: NodeDep) -> JSONResponse:
    record = _get(node, negotiation_id)
    return JSONResponse(
        {"@context": EDC_CONTEXT, "@type": "NegotiationState", "state": display_state(record)}
    )


@router.get("/{negotiation_id}/agreement", summary="The negotiation's agreement")
def get_agreement(_admin: AdminPrincipal, negotiation_id: str, node: NodeDep) -> JSONResponse:
    record = _get(node, negotiation_id)
    if record.agreement is None:
        raise Conflict("this negotiation has no agreement (yet)")
    agreement = edc_policy(node.jsonld, record.agreement)
    return JSONResponse({"@context": response_context(), **agreement})


@router.get("/{negotiation_id}/history", summary="Every message of the negotiation, in order")
def get_history(_admin: AdminPrincipal, negotiation_id: str, node: NodeDep) -> JSONResponse:
    record = _get(node, negotiation_id)
    with node.database.read() as session:
        messages = NegotiationRepository(session).messages(record.id)
    return JSONResponse(
        [
            {
                "direction": message.direction,
                "type": message.message_type,
                "at": message.at.isoformat(),
                "from": node.negotiations.participant_id
                if message.direction == "out"
                else record.counterparty_id,
                "body": message.body,
            }
            for message in messages
        ]
    )


@router.post("/{negotiation_id}/terminate", status_code=204, summary="Terminate a negotiation")
async def terminate(
    admin: AdminPrincipal, negotiation_id: str, body: OptionalExpandedBody, node: NodeDep
) -> Response:
    reason = _string(body, "reason") if body is not None else None
    identifier = path_id(negotiation_id, KIND)
    await node.database.run(
        lambda: node.negotiation_actions.act(
            identifier, Message.TERMINATE, reason=reason or "terminated by an administrator"
        )
    )
    _decided(admin, identifier, Message.TERMINATE)
    return Response(status_code=204)


@router.post("/{negotiation_id}/{action}", status_code=204, summary="An administrator's decision")
async def decide(
    admin: AdminPrincipal,
    negotiation_id: str,
    action: str,
    body: OptionalExpandedBody,
    node: NodeDep,
) -> Response:
    if action not in ACTIONS:
        raise BadRequest(f"unknown action {action!r}; one of: {', '.join(sorted(ACTIONS))}")
    role, kind = ACTIONS[action]
    identifier = path_id(negotiation_id, KIND)
    record = await node.database.run(node.negotiations.get, identifier)
    if record.role != role:
        raise Conflict(f"'{action}' is for negotiations where this node is the {role}")
    offer = _own_offer(body, kind) if kind in (Message.OFFER, Message.REQUEST) else None
    await node.database.run(lambda: node.negotiation_actions.act(identifier, kind, offer=offer))
    _decided(admin, identifier, kind)
    return Response(status_code=204)


def _decided(admin: Administrator, negotiation_id: str, kind: Message) -> None:
    """Log who decided what (the audit trail of manual decisions; the history has the message
    once it is sent)."""
    log.info(
        "administrator decision on a contract negotiation",
        extra={
            "negotiation": negotiation_id,
            "decision": kind.value,
            "administrator": admin.subject,
        },
    )
