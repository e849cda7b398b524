"""DSP 2025-1 contract negotiation endpoints, both roles, under ``<base>/negotiations``.

The node's callback address is its DSP base, so provider and consumer endpoints share one path
space: pids are ours and unique, and a message addressed to ``/negotiations/{pid}/…`` is applied
to the negotiation (of the calling participant) whose own pid is ``pid``.

Provider: ``POST /request`` (201), ``GET /{providerPid}``, ``POST /{providerPid}/request``,
``…/events`` (ACCEPTED), ``…/agreement/verification``, ``…/termination``.
Consumer: ``POST /offers`` (201), ``GET /{consumerPid}``, ``POST /{consumerPid}/offers``,
``…/agreement``, ``…/events`` (FINALIZED), ``…/termination``.

Errors are ``ContractNegotiationError`` messages: 400 for an invalid transition or a malformed
message (state unchanged), 404 for an unknown negotiation or one that is not the caller's. The
new state is stored before the answer; the next message leaves after it (the dispatcher is woken
once the response is sent). The use of the message's DPoP proof is stored in the same
transaction as the new state (on its own, by the route class, when the message is refused).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import JSONResponse

from connector.dsp.errors import UNKNOWN_PID, answer_unknown_paths, dsp_route_class
from connector.dsp.messages import read_message
from connector.dsp.version import BASE_PATH
from connector.errors import BadRequest, Conflict
from connector.http.outbound import check_outbound_url_async
from connector.identity.claims import Participant
from connector.identity.dependency import ParticipantDep, Sender, SenderDep
from connector.negotiation.decisions import Requester
from connector.negotiation.intent import SendPlace
from connector.negotiation.messages import Inbound, negotiation_body, read_inbound
from connector.negotiation.states import TERMINAL, Role, State
from connector.negotiation.terms import their_pid
from connector.node import Node, NodeDep
from connector.store.records import NegotiationRecord


def _error_pids(request: Request) -> dict[str, str]:
    known: dict[str, str] = getattr(request.state, "negotiation_pids", {})
    return {
        "providerPid": known.get("providerPid", UNKNOWN_PID),
        "consumerPid": known.get("consumerPid", UNKNOWN_PID),
    }


router = APIRouter(
    prefix=BASE_PATH + "/negotiations",
    tags=["dataspace protocol"],
    route_class=dsp_route_class("ContractNegotiationError", _error_pids),
)


def _remember(request: Request, provider_pid: str | None, consumer_pid: str | None) -> None:
    pids = {}
    if provider_pid:
        pids["providerPid"] = provider_pid
    if consumer_pid:
        pids["consumerPid"] = consumer_pid
    request.state.negotiation_pids = pids


async def _read(request: Request, dsp_type: str) -> tuple[Inbound, dict[str, Any]]:
    received = await read_message(request, dsp_type)
    message = read_inbound(received)
    _remember(request, message.provider_pid, message.consumer_pid)
    return message, received.document


async def _check_callback(node: Node, message: Inbound) -> None:
    """The callback address of a first message, its host name resolved on a thread (a slow DNS
    answer for a name the peer chose must not stall the node); the negotiation work checks what
    needs no DNS again."""
    callback = (message.callback_address or "").strip()
    await check_outbound_url_async(callback, node.settings.security)


def _requester(participant: Participant) -> Requester:
    return Requester(participant.id, participant.claims)


def _ack(record: NegotiationRecord, status: int = 200) -> JSONResponse:
    state = record.state
    if state == State.INITIAL:  # local: the state our first message (acknowledged) leads to
        state = State.REQUESTED if record.role == "consumer" else State.OFFERED
    return JSONResponse(
        negotiation_body(record.provider_pid, record.consumer_pid, state), status_code=status
    )


async def _receive(
    request: Request,
    node: Node,
    sender: Sender,
    background: BackgroundTasks,
    *,
    pid: str,
    dsp_type: str,
    roles: tuple[Role, ...],
) -> Response:
    message, body = await _read(request, dsp_type)

    def apply(place: SendPlace | None) -> NegotiationRecord:
        return node.negotiations.receive(
            roles,
            requester=_requester(sender.participant),
            path_pid=pid,
            message=message,
            body=body,
            in_transaction=sender.proof.remember_in,
            place=place,
        )

    record, then = await node.negotiation_dispatcher.applied(sender.participant.id, apply)
    sender.proof.committed()
    background.add_task(then)
    return _ack(record)


@router.post("/request", status_code=201, summary="Initial contract request (provider)")
async def initial_request(
    request: Request, node: NodeDep, sender: SenderDep, background: BackgroundTasks
) -> Response:
    message, body = await _read(request, "ContractRequestMessage")
    if message.provider_pid is not None:
        raise BadRequest(
            "a counter-request goes to /negotiations/{providerPid}/request, "
            "not /negotiations/request"
        )
    await _check_callback(node, message)
    record, then = await node.negotiation_dispatcher.applied(
        sender.participant.id,
        lambda place: node.negotiations.receive_initial_request(
            _requester(sender.participant),
            message,
            body,
            in_transaction=sender.proof.remember_in,
            place=place,
        ),
    )
    sender.proof.committed()
    background.add_task(then)
    return _ack(record, 201)


@router.post("/offers", status_code=201, summary="Initial contract offer (consumer)")
async def initial_offer(request: Request, node: NodeDep, sender: SenderDep) -> Response:
    message, body = await _read(request, "ContractOfferMessage")
    if message.consumer_pid is not None:
        raise BadRequest(
            "a counter-offer goes to /negotiations/{consumerPid}/offers, not /negotiations/offers"
        )
    await _check_callback(node, message)
    record = await node.database.run(
        lambda: node.negotiations.receive_initial_offer(
            _requester(sender.participant), message, body, in_transaction=sender.proof.remember_in
        )
    )
    sender.proof.committed()
    return _ack(record, 201)  # OFFERED waits for an administrator: no message due, no wake-up


@router.get("/{pid}", summary="A negotiation's state (either role)")
async def get_negotiation(
    pid: str, request: Request, node: NodeDep, participant: ParticipantDep
) -> Response:
    record = await node.database.run(node.negotiations.for_peer, pid, _requester(participant))
    _remember(request, record.provider_pid, record.consumer_pid)
    if their_pid(record) is None:
        # Our first message (a request, an offer) reached the peer (it asks), but its answer
        # is not recorded yet: a ContractNegotiation needs both pids, and that answer brings
        # the peer's. Once the negotiation ended here without it, asking again is no use.
        if record.state in TERMINAL:
            raise Conflict(
                "this negotiation ended here before the answer to our first message was "
                f"recorded: {record.error_detail or record.state}"
            )
        raise Conflict("the answer to our first message is not recorded yet; ask again")
    return _ack(record)


def _endpoint(dsp_type: str, roles: tuple[Role, ...]) -> Callable[..., Awaitable[Response]]:
    """The endpoint receiving ``dsp_type`` for negotiations of ``roles``."""

    async def endpoint(
        pid: str,
        request: Request,
        node: NodeDep,
        sender: SenderDep,
        background: BackgroundTasks,
    ) -> Response:
        return await _receive(
            request, node, sender, background, pid=pid, dsp_type=dsp_type, roles=roles
        )

    return endpoint


BOTH: tuple[Role, ...] = ("provider", "consumer")
MESSAGES: tuple[tuple[str, str, tuple[Role, ...], str], ...] = (
    ("/{pid}/request", "ContractRequestMessage", ("provider",), "Counter-request (provider)"),
    ("/{pid}/offers", "ContractOfferMessage", ("consumer",), "Counter-offer (consumer)"),
    ("/{pid}/events", "ContractNegotiationEventMessage", BOTH,
     "ACCEPTED (to the provider) or FINALIZED (to the consumer)"),
    ("/{pid}/agreement", "ContractAgreementMessage", ("consumer",), "Agreement (consumer)"),
    ("/{pid}/agreement/verification", "ContractAgreementVerificationMessage", ("provider",),
     "Agreement verification (provider)"),
    ("/{pid}/termination", "ContractNegotiationTerminationMessage", BOTH,
     "Termination (either role)"),
)  # fmt: skip
for _path, _type, _roles, _summary in MESSAGES:
    router.add_api_route(
        _path, _endpoint(_type, _roles), methods=["POST"], summary=_summary, name=_type
    )


answer_unknown_paths(router)
