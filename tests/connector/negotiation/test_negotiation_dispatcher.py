"""NegotiationDispatcher: persisted intent → the peer → the new state, with retries, backoff and
termination. The peer is an in-process fake (``httpx.MockTransport``); the node's tokens are real,
from the session's authority process (``dataspace`` fixture), bound to DPoP proofs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from dataspace_support import Dataspace
from dsp_schemas import errors
from negotiation_support import (
    CONSUMER,
    CONSUMER_DSP,
    EDC,
    OFFICIAL_STATISTICS,
    PROVIDER,
    PROVIDER_DSP,
    RESEARCH_ONLY,
    SECURITY,
    THIRD,
    Node,
    agreement_body,
    inbound,
    negotiation,
    node,
    offer_body,
    request,
    requester,
    seed_offer,
    termination,
    verification,
)
from negotiation_support import event as event_message
from sqlalchemy import Connection, event, text
from tls_support import TlsPeer, http_answer, private_ca

from catalog.contexts import dsp_processor
from connector.catalogue.offers import OfferRef
from connector.dsp.negotiations import MESSAGES
from connector.identity.service import NodeIdentity
from connector.identity.settings import IdentitySettings, TrustedIssuer
from connector.negotiation import dispatcher as dispatcher_module
from connector.negotiation.dispatcher import Claimed, NegotiationDispatcher, _path
from connector.negotiation.intent import SendPlace
from connector.negotiation.messages import Inbound, message_body, negotiation_body
from connector.negotiation.states import DSP_TYPES, Message, Role
from connector.negotiation.terms import NOT_ADMITTED, WITHDRAWN
from connector.settings import NegotiationSettings, SecuritySettings
from connector.store.database import Database
from connector.store.records import AgreementRecord, NegotiationRecord
from connector.store.repositories.agreements import AgreementRepository
from connector.store.repositories.contract_definitions import ContractDefinitionRepository
from connector.store.repositories.negotiations import NegotiationRepository

pytestmark = pytest.mark.anyio

SETTINGS = NegotiationSettings(
    max_attempts=4,
    retry_base_seconds=1.0,
    retry_max_seconds=3.0,
    timeout_seconds=5.0,
    lease_seconds=30.0,
    poll_seconds=1.0,
)
P = "urn:uuid:provider-p"
C = "urn:uuid:consumer-c"
SCHEMAS = {
    Message.REQUEST: "contract-request-message",
    Message.OFFER: "contract-offer-message",
    Message.ACCEPT: "contract-negotiation-event-message",
    Message.AGREE: "contract-agreement-message",
    Message.VERIFY: "contract-agreement-verification-message",
    Message.FINALIZE: "contract-negotiation-event-message",
    Message.TERMINATE: "contract-negotiation-termination-message",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


Answer = Callable[[httpx.Request], httpx.Response]


def acknowledge(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200)


@dataclass
class Peer:
    """The counterparty's DSP endpoints: records what arrives and answers with ``answer``."""

    answer: Answer = acknowledge
    received: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return self.answer(request)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.received]

    def paths(self) -> list[str]:
        return [r.url.path for r in self.received]


@dataclass
class Sender:
    """One node's negotiations and the dispatcher that sends what they intend."""

    node: Node
    dispatcher: NegotiationDispatcher
    peer: Peer

    async def round(self) -> bool:
        return await self.dispatcher.dispatch_due()

    def get(self, negotiation_id: str) -> NegotiationRecord:
        return self.node.get(negotiation_id)


@pytest.fixture
async def identities(
    dataspace: Dataspace, database: Database
) -> AsyncIterator[dict[str, NodeIdentity]]:
    """The real identities of B (provider) and A (consumer): tokens from the authority."""
    made = {
        participant: NodeIdentity.from_settings(
            IdentitySettings(
                trusted_issuers=[TrustedIssuer(issuer=dataspace.issuer)],
                authority=dataspace.issuer,
                client_key_file=dataspace.key_files[participant],
            ),
            participant_id=participant,
            public_url=url,
            database=database,
        )
        for participant, url in (
            (PROVIDER, "https://provider.test"),
            (CONSUMER, "https://consumer.test"),
        )
    }
    try:
        yield made
    finally:
        for identity in made.values():
            await identity.aclose()


def _sender(
    database: Database,
    identities: dict[str, NodeIdentity],
    participant: str,
    settings: NegotiationSettings = SETTINGS,
) -> Sender:
    public = "https://provider.test" if participant == PROVIDER else "https://consumer.test"
    own = node(database, participant, public_url=public)
    peer = Peer()
    dispatcher = NegotiationDispatcher(
        database,
        identities[participant],
        participant_id=participant,
        callback_address=public + "/protocol/2025-1",
        processor=dsp_processor(),
        settings=settings,
        security=SECURITY,
        transport=httpx.MockTransport(peer.handle),
        clock=own.clock,
    )
    return Sender(own, dispatcher, peer)


@pytest.fixture
async def provider(
    database: Database, identities: dict[str, NodeIdentity]
) -> AsyncIterator[Sender]:
    seed_offer(database)
    sender = _sender(database, identities, PROVIDER)
    try:
        yield sender
    finally:
        await sender.dispatcher.aclose()


@pytest.fixture
async def consumer(
    database: Database, identities: dict[str, NodeIdentity]
) -> AsyncIterator[Sender]:
    sender = _sender(database, identities, CONSUMER)
    try:
        yield sender
    finally:
        await sender.dispatcher.aclose()


def _requested(
    provider: Sender,
    org_type: str = "research",
    consumer_pid: str = C,
    participant: str = CONSUMER,
    place: SendPlace | None = None,
) -> NegotiationRecord:
    """A consumer's request received by the provider (auto mode decides at once)."""
    ref = OfferRef("cd-visits", "visits")
    document = {**provider.node.published(ref), "target": ref.asset_id}
    message, body = inbound(request(consumer_pid, document, purpose=OFFICIAL_STATISTICS))
    return provider.node.service.receive_initial_request(
        requester(participant, org_type=org_type), message, body, place=place
    )


def _started(consumer: Sender) -> NegotiationRecord:
    return consumer.node.actions.start(
        provider_id=PROVIDER,
        address=PROVIDER_DSP,
        offer=consumer.node.terms.parse(offer_body(uid="urn:uuid:offer-1")),
        auto=True,
        purpose=OFFICIAL_STATISTICS,
    )


# Acknowledged ------------------------------------------------------------------------------------


async def test_a_message_claimed_too_long_ago_is_left_for_a_later_claim(
    provider: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent after waiting (an overloaded node), it could outlast its lease and be claimed and
    sent by another replica too: it is not sent, and goes out once the lease has run out."""
    created = _requested(provider)
    claim = provider.dispatcher._claim

    def slow_claim(limit: int, to_peer: Mapping[str, int]) -> Claimed:
        claimed = claim(limit, to_peer)
        provider.node.clock.advance(SETTINGS.lease_seconds - SETTINGS.timeout_seconds)
        return claimed

    monkeypatch.setattr(provider.dispatcher, "_claim", slow_claim)
    await provider.round()
    assert provider.peer.received == []
    assert provider.get(created.id).intent == "AGREE"
    await provider.round()  # still leased to this replica
    assert provider.peer.received == []
    monkeypatch.setattr(provider.dispatcher, "_claim", claim)
    provider.node.clock.advance(SETTINGS.timeout_seconds)  # the lease ran out
    await provider.round()
    assert len(provider.peer.received) == 1
    assert provider.get(created.id).state == "AGREED"


async def test_a_claim_that_waited_for_a_thread_still_sends(
    provider: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease begins when the claim runs, not when it was asked for: a claim that waited for
    one of the database's worker threads (an overloaded node) still has its whole lease."""
    created = _requested(provider)
    claim = provider.dispatcher._claim

    def claim_after_waiting(limit: int, to_peer: Mapping[str, int]) -> Claimed:
        provider.node.clock.advance(SETTINGS.lease_seconds)  # queued that long first
        return claim(limit, to_peer)

    monkeypatch.setattr(provider.dispatcher, "_claim", claim_after_waiting)
    await provider.round()
    assert len(provider.peer.received) == 1
    assert provider.get(created.id).state == "AGREED"


@dataclass
class SlowToAnswer:
    """A peer that answers every message at once, except those of the consumer pids ``slow``
    (consumer C): after ``release``."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    slow: frozenset[str] = frozenset({C})

    async def answer(self, request: httpx.Request) -> httpx.Response:
        consumer_pid = json.loads(request.content)["consumerPid"]
        await self.arrived.put(consumer_pid)
        if consumer_pid in self.slow:
            await self.release.wait()
        return httpx.Response(200)

    async def next_arrival(self) -> str:
        return await asyncio.wait_for(self.arrived.get(), 30)


def _patient(database: Database, identities: dict[str, NodeIdentity], **settings: float) -> Sender:
    """A provider whose messages wait for their answers for as long as a test needs."""
    seed_offer(database)
    update = {"timeout_seconds": 120.0, "lease_seconds": 180.0, **settings}
    return _sender(database, identities, PROVIDER, SETTINGS.model_copy(update=update))


@contextlib.asynccontextmanager
async def _dispatching(sender: Sender, peer: SlowToAnswer) -> AsyncIterator[None]:
    """The sender's dispatcher running (as in a node), answered by ``peer``."""
    sender.peer.answer = peer.answer  # type: ignore[assignment]
    running = asyncio.create_task(sender.dispatcher.run())
    try:
        yield
    finally:
        peer.release.set()
        sender.dispatcher.stop()
        await running  # waits for the messages on their way


async def test_a_message_due_while_every_place_is_taken_leaves_when_one_frees(
    database: Database, identities: dict[str, NodeIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every place taken, new intent is claimed as soon as a message is answered, not at the
    next poll (a minute here)."""
    monkeypatch.setattr(dispatcher_module, "MAX_SENDING", 1)
    provider = _patient(database, identities, poll_seconds=60.0)
    peer = SlowToAnswer()
    async with _dispatching(provider, peer):
        _requested(provider)
        provider.dispatcher.wake()
        assert await peer.next_arrival() == C
        _requested(provider, consumer_pid="urn:uuid:consumer-d")
        provider.dispatcher.wake()  # the only place is taken: this wake-up finds no room
        await asyncio.sleep(0.3)  # lets the dispatcher see it (and go back to waiting)
        peer.release.set()
        assert await peer.next_arrival() == "urn:uuid:consumer-d"


async def test_a_peer_slow_to_answer_takes_at_most_its_share_of_the_places(
    database: Database, identities: dict[str, NodeIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its messages beyond MAX_PER_PEER wait, handed back at once (any replica may take them),
    and another peer's message takes the place left."""
    monkeypatch.setattr(dispatcher_module, "MAX_SENDING", 3)
    monkeypatch.setattr(dispatcher_module, "MAX_PER_PEER", 2)
    provider = _patient(database, identities)
    slow = [C, "urn:uuid:consumer-c2", "urn:uuid:consumer-c3"]
    created = {pid: _requested(provider, consumer_pid=pid) for pid in slow}
    provider.node.clock.advance(1)  # the other peer's message is due last
    other = _requested(provider, consumer_pid="urn:uuid:consumer-d", participant=THIRD)
    peer = SlowToAnswer(slow=frozenset(slow))
    async with _dispatching(provider, peer):
        provider.dispatcher.wake()
        arrived = {await peer.next_arrival() for _ in range(3)}
        assert "urn:uuid:consumer-d" in arrived
        [waiting] = set(slow) - arrived
        with database.transaction() as session:  # as another replica would
            [taken] = NegotiationRepository(session).claim_due(
                provider.node.clock(), 10, "another-replica", 1
            )
        assert taken.id == created[waiting].id
    assert provider.get(other.id).state == "AGREED"
    assert {provider.get(created[pid].id).state for pid in arrived - {other.consumer_pid}} == {
        "AGREED"
    }
    assert provider.get(taken.id).intent == "AGREE"  # still leased to the other replica
    provider.node.clock.advance(2)
    await provider.round()
    assert provider.get(taken.id).state == "AGREED"


async def test_a_peer_with_a_backlog_leaves_the_rest_of_a_claim_to_the_others(
    provider: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One peer's messages, all due before another peer's and more than a claim takes, fill
    only that peer's share; the same claim goes on to the other peer's message."""
    monkeypatch.setattr(dispatcher_module, "CLAIM_BATCH", 3)
    monkeypatch.setattr(dispatcher_module, "MAX_PER_PEER", 2)
    backlog = [_requested(provider, consumer_pid=f"urn:uuid:consumer-{i}") for i in range(5)]
    provider.node.clock.advance(1)
    other = _requested(provider, consumer_pid="urn:uuid:consumer-d", participant=THIRD)
    assert await provider.round() is True  # one claim: two of the backlog and the other's
    assert provider.get(other.id).state == "AGREED"
    states = [provider.get(record.id).state for record in backlog]
    assert sorted(states) == ["AGREED"] * 2 + ["REQUESTED"] * 3
    while await provider.round():
        pass
    assert {provider.get(record.id).state for record in backlog} == {"AGREED"}


async def test_a_message_waiting_for_its_answer_does_not_hold_back_the_next(
    database: Database, identities: dict[str, NodeIdentity]
) -> None:
    """The running dispatcher sends new intent while an earlier message waits for its answer."""
    provider = _patient(database, identities)
    peer = SlowToAnswer()
    async with _dispatching(provider, peer):
        first = _requested(provider)
        provider.dispatcher.wake()
        assert await peer.next_arrival() == C
        second = _requested(provider, consumer_pid="urn:uuid:consumer-d")
        provider.dispatcher.wake()
        assert await peer.next_arrival() == "urn:uuid:consumer-d"
        assert provider.get(first.id).state == "REQUESTED"  # still waiting for its answer
    assert provider.get(first.id).state == provider.get(second.id).state == "AGREED"


def _claims_counted(sender: Sender, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many messages each of ``sender``'s dispatcher's claims takes, from now on."""
    claimed: list[int] = []
    claim = sender.dispatcher._claim

    def counted(limit: int, to_peer: Mapping[str, int]) -> Claimed:
        result = claim(limit, to_peer)
        claimed.append(len(result.records))
        return result

    monkeypatch.setattr(sender.dispatcher, "_claim", counted)
    return claimed


async def _place(sender: Sender, peer: str = CONSUMER) -> SendPlace:
    """A place from the sender's running dispatcher (once its run() has started)."""
    for _ in range(100):  # until run() has started on this loop
        place = sender.dispatcher.reserve(peer)
        if place is not None:
            return place
        await asyncio.sleep(0.01)
    raise AssertionError("the dispatcher kept no place")


async def test_a_place_sends_the_message_its_request_made_due_without_a_claim(
    database: Database, identities: dict[str, NodeIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where database work runs on the event loop (as the ``database`` fixture opens both
    backends), the transaction of a request leases the message it makes due to the running
    dispatcher, which sends it once the request is answered: no claim, and no other replica can
    take it meanwhile. (Work on threads: no place, below.)"""
    provider = _patient(database, identities, poll_seconds=60.0)
    claimed = _claims_counted(provider, monkeypatch)
    peer = SlowToAnswer(slow=frozenset())
    async with _dispatching(provider, peer):
        place = await _place(provider)
        assert place is not None
        record = _requested(provider, place=place)
        assert record.intent == "AGREE"
        assert place.leased == record
        with database.transaction() as session:  # as another replica would
            assert (
                NegotiationRepository(session).claim_due(provider.node.clock(), 10, "other", 1)
                == []
            )
        await provider.dispatcher.send_reserved(place, record)
        assert await peer.next_arrival() == C
        assert provider.get(record.id).state == "AGREED"
        assert provider.get(record.id).intent is None
        assert provider.dispatcher.places_kept == 0
    assert sum(claimed) == 0
    assert provider.dispatcher.reserve(CONSUMER) is None  # stopped


async def test_a_place_its_request_leased_nothing_with_is_given_back(
    database: Database, identities: dict[str, NodeIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A place counts against the peer's share and the replica's until given back (once); a
    request that leased nothing (here a repeated one) gives it back, and what the negotiation
    has to send is claimed as usual."""
    monkeypatch.setattr(dispatcher_module, "MAX_PER_PEER", 1)
    monkeypatch.setattr(dispatcher_module, "MAX_SENDING", 2)
    provider = _patient(database, identities, poll_seconds=60.0)
    peer = SlowToAnswer(slow=frozenset())
    async with _dispatching(provider, peer):
        place = await _place(provider)  # the dispatcher's first claim has run: nothing due
        assert place is not None
        first = _requested(provider)  # due, but nothing wakes the dispatcher (polls: 60 s)
        assert provider.dispatcher.reserve(CONSUMER) is None  # the peer's one place is kept
        other = provider.dispatcher.reserve(THIRD)
        assert other is not None
        provider.dispatcher.give_back(other)
        provider.dispatcher.give_back(other)  # once only
        third = provider.dispatcher.reserve(THIRD)
        assert third is not None
        assert provider.dispatcher.reserve("urn:example:d") is None  # both places kept
        provider.dispatcher.give_back(third)
        again = _requested(provider, place=place)  # the same request: nothing new
        assert again.id == first.id
        assert place.leased is None
        await provider.dispatcher.send_reserved(place, again)
        assert await peer.next_arrival() == C  # claimed: the repeat left it pending
        await _until_state(provider, first.id, "AGREED")
        assert provider.dispatcher.places_kept == 0
        assert (await _place(provider)) is not None


async def test_places_kept_never_hold_back_a_claimed_message(
    database: Database, identities: dict[str, NodeIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message left to a claim (its request found no place) is claimed and sent while the
    peer's places stay taken: claims have room of their own, so later messages given places
    cannot overtake it for ever."""
    monkeypatch.setattr(dispatcher_module, "MAX_PER_PEER", 1)
    monkeypatch.setattr(dispatcher_module, "MAX_SENDING", 1)
    provider = _patient(database, identities, poll_seconds=60.0)
    peer = SlowToAnswer(slow=frozenset())
    async with _dispatching(provider, peer):
        kept = await _place(provider)
        assert kept is not None
        assert provider.dispatcher.reserve(CONSUMER) is None
        waiting = _requested(provider)
        await provider.dispatcher.send_reserved(None, waiting)  # wakes the dispatcher
        assert await peer.next_arrival() == C
        provider.dispatcher.give_back(kept)
    assert provider.get(waiting.id).state == "AGREED"


def _apply_request(provider: Sender) -> Callable[[SendPlace | None], NegotiationRecord]:
    return lambda place: _requested(provider, place=place)


async def _until_state(sender: Sender, negotiation_id: str, state: str) -> None:
    """Until the dispatcher has recorded the answer (its own task, when claimed)."""
    for _ in range(500):
        if sender.get(negotiation_id).state == state:
            return
        await asyncio.sleep(0.01)
    assert sender.get(negotiation_id).state == state


async def test_applied_runs_the_work_with_a_place_and_sends_from_it_once_answered(
    database: Database, identities: dict[str, NodeIdentity]
) -> None:
    provider = _patient(database, identities, poll_seconds=60.0)
    peer = SlowToAnswer(slow=frozenset())
    async with _dispatching(provider, peer):
        provider.dispatcher.give_back(await _place(provider, THIRD))  # run() has started
        record, then = await provider.dispatcher.applied(CONSUMER, _apply_request(provider))
        assert record.intent == "AGREE"
        assert peer.arrived.empty()  # nothing is sent before the request is answered
        await then()
        assert await peer.next_arrival() == C
        await _until_state(provider, record.id, "AGREED")  # claimed where no place is kept
        assert provider.dispatcher.places_kept == 0


async def test_applied_gives_the_place_back_when_the_work_fails(
    database: Database, identities: dict[str, NodeIdentity]
) -> None:
    provider = _patient(database, identities, poll_seconds=60.0)

    def failing(place: SendPlace | None) -> NegotiationRecord:
        raise RuntimeError("refused")

    async with _dispatching(provider, SlowToAnswer(slow=frozenset())):
        provider.dispatcher.give_back(await _place(provider))  # run() has started
        with pytest.raises(RuntimeError, match="refused"):
            await provider.dispatcher.applied(CONSUMER, failing)
        assert provider.dispatcher.places_kept == 0


async def test_a_request_cancelled_after_its_transaction_committed_still_sends_at_once(
    database: Database, identities: dict[str, NodeIdentity]
) -> None:
    """Cancelled while its work waits on a database thread (another thread of the node is
    writing), the request's transaction still commits: the message it leased leaves at once,
    not when the lease has run out (3 minutes here), nor at the next poll (a minute)."""
    if database.backend != "sqlite":
        # PostgreSQL's work runs on the loop whatever other threads do (the dispatcher's side
        # of this case is the same on both).
        pytest.skip("SQLite: work waits on a thread while another thread writes")
    provider = _patient(database, identities, poll_seconds=60.0)
    peer = SlowToAnswer(slow=frozenset())
    writing, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with database.transaction():
            writing.set()
            release.wait(30)

    async with _dispatching(provider, peer):
        provider.dispatcher.give_back(await _place(provider))  # run() has started
        writer = asyncio.get_running_loop().run_in_executor(None, other_writer)
        assert await asyncio.to_thread(writing.wait, 30)
        request = asyncio.create_task(
            provider.dispatcher.applied(CONSUMER, _apply_request(provider))
        )
        await asyncio.sleep(0.1)  # its work waits for the other writer
        request.cancel()
        await asyncio.sleep(0.1)
        release.set()
        await writer
        with pytest.raises(asyncio.CancelledError):
            await request
        assert await peer.next_arrival() == C
    assert provider.dispatcher.places_kept == 0


async def test_a_stopping_dispatcher_waits_for_the_messages_sent_from_places(
    database: Database, identities: dict[str, NodeIdentity]
) -> None:
    """run() ends only once the messages on their way from places are answered and recorded;
    a place whose send begins after stop() sends nothing (the message stays leased, for a claim
    once the lease has run out) and is given back."""
    provider = _patient(database, identities, poll_seconds=60.0)
    peer = SlowToAnswer()
    provider.peer.answer = peer.answer  # type: ignore[assignment]
    running = asyncio.create_task(provider.dispatcher.run())
    place = await _place(provider)
    late = provider.dispatcher.reserve(THIRD)
    assert place is not None
    assert late is not None
    record = _requested(provider, place=place)
    late_record = _requested(provider, consumer_pid="urn:uuid:consumer-d", participant=THIRD,
                             place=late)  # fmt: skip
    sending = asyncio.create_task(provider.dispatcher.send_reserved(place, record))
    assert await peer.next_arrival() == C
    provider.dispatcher.stop()
    await asyncio.sleep(0.2)
    assert not running.done()  # waits for the answer
    await provider.dispatcher.send_reserved(late, late_record)  # begins after stop(): not sent
    peer.release.set()
    await running
    await sending
    assert provider.get(record.id).state == "AGREED"
    assert peer.arrived.empty()
    assert provider.get(late_record.id).intent == "AGREE"  # left for a claim
    assert provider.dispatcher.places_kept == 0


async def test_an_administrators_new_negotiation_takes_a_place_too(
    database: Database, identities: dict[str, NodeIdentity]
) -> None:
    """The consumer's request, started from the management API, is leased as it is stored and
    sent from the place; without a place the dispatcher is woken to claim it."""
    consumer = _sender(database, identities, CONSUMER)
    peer = SlowToAnswer(slow=frozenset())
    try:
        async with _dispatching(consumer, peer):
            place = await _place(consumer, PROVIDER)
            started = consumer.node.actions.start(
                provider_id=PROVIDER,
                address=PROVIDER_DSP,
                offer=consumer.node.terms.parse(offer_body(uid="urn:uuid:offer-1")),
                auto=True,
                purpose=OFFICIAL_STATISTICS,
                place=place,
            )
            woken = len(consumer.node.wakes)
            if place is None:
                assert woken == 1
                return
            assert woken == 0
            assert place.leased == started
            await consumer.dispatcher.send_reserved(place, started)
            assert await peer.next_arrival() == started.consumer_pid
    finally:
        await consumer.dispatcher.aclose()


async def test_acknowledged_agreement_moves_the_state_and_clears_the_intent(
    provider: Sender,
) -> None:
    created = _requested(provider)
    assert created.intent == "AGREE"
    assert await provider.round() is False
    [sent] = provider.peer.received
    assert sent.method == "POST"
    assert str(sent.url) == f"{CONSUMER_DSP}/negotiations/{C}/agreement"
    assert sent.headers["authorization"].startswith("DPoP ")
    assert sent.headers["dpop"].count(".") == 2
    body = json.loads(sent.content)
    assert errors("negotiation/contract-agreement-message-schema.json", body) == []
    assert body["agreement"] == created.agreement
    assert (body["providerPid"], body["consumerPid"]) == (created.provider_pid, C)
    agreed = provider.get(created.id)
    assert agreed.state == "AGREED"
    assert (agreed.intent, agreed.pending, agreed.next_attempt_at) == (None, False, None)
    assert agreed.attempts == 0
    out = [m for m in provider.node.history(created.id) if m.direction == "out"]
    assert [(m.message_type, m.body) for m in out] == [("ContractAgreementMessage", body)]
    # Nothing is due any more.
    assert await provider.round() is False
    assert len(provider.peer.received) == 1


async def test_an_acknowledgement_is_recorded_with_the_save_in_one_statement(
    provider: Sender,
) -> None:
    """The settle of an acknowledged message: on PostgreSQL one statement that commits by itself
    (autocommit: no BEGIN, no COMMIT); on SQLite a transaction of two."""
    created = _requested(provider)
    sent: list[tuple[str, object]] = []

    def record(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        isolation = connection.get_execution_options().get("isolation_level")
        sent.append((" ".join(statement.split()), isolation))

    engine = provider.node.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await provider.round()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert provider.get(created.id).state == "AGREED"
    recording = [(sql, how) for sql, how in sent if "INSERT INTO negotiation_messages" in sql]
    assert len(recording) == 1
    [(statement, isolation)] = recording
    if provider.node.database.backend == "postgresql":
        assert statement.startswith("WITH saved AS (UPDATE contract_negotiations")
        assert isolation == "AUTOCOMMIT"
    else:
        assert statement.startswith("INSERT")
        assert isolation is None


async def test_a_provider_pid_another_negotiation_has_ends_the_negotiation_here(
    consumer: Sender,
) -> None:
    """The provider answers our request with the pid of another of our negotiations with it: the
    save cannot take it (on PostgreSQL the one statement fails, then the transaction says why);
    the negotiation ends here, its request kept in the history, the other one untouched."""
    first = _started(consumer)
    consumer.peer.answer = lambda r: httpx.Response(
        201, json=negotiation_body("urn:uuid:taken", first.id, "REQUESTED")
    )
    await consumer.round()
    assert consumer.get(first.id).provider_pid == "urn:uuid:taken"
    second = _started(consumer)
    consumer.peer.answer = lambda r: httpx.Response(
        201, json=negotiation_body("urn:uuid:taken", second.id, "REQUESTED")
    )
    await consumer.round()
    ended = consumer.get(second.id)
    assert (ended.state, ended.provider_pid, ended.pending) == ("TERMINATED", None, False)
    assert ended.error_detail is not None
    assert "urn:uuid:taken" in ended.error_detail
    history = consumer.node.history(second.id)
    assert [(m.direction, m.message_type) for m in history] == [("out", "ContractRequestMessage")]
    kept = consumer.get(first.id)
    assert (kept.state, kept.provider_pid) == ("REQUESTED", "urn:uuid:taken")
    assert await consumer.round() is False  # nothing left to send


async def test_consumer_learns_the_provider_pid_from_the_answer_to_its_request(
    consumer: Sender,
) -> None:
    started = _started(consumer)
    consumer.peer.answer = lambda r: httpx.Response(
        201, json=negotiation_body("urn:uuid:learned", started.id, "REQUESTED")
    )
    await consumer.round()
    [sent] = consumer.peer.received
    assert str(sent.url) == f"{PROVIDER_DSP}/negotiations/request"
    body = json.loads(sent.content)
    assert errors("negotiation/contract-request-message-schema.json", body) == []
    assert body["callbackAddress"] == CONSUMER_DSP
    assert body["consumerPid"] == started.id
    assert "providerPid" not in body
    requested = consumer.get(started.id)
    assert (requested.state, requested.provider_pid) == ("REQUESTED", "urn:uuid:learned")
    assert (requested.intent, requested.pending) == (None, False)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(201),
        httpx.Response(201, json={"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"]}),
        httpx.Response(201, text="not json"),
    ],
    ids=["empty", "no providerPid", "not JSON"],
)
async def test_request_acknowledged_without_a_provider_pid_terminates(
    consumer: Sender, answer: httpx.Response
) -> None:
    started = _started(consumer)
    consumer.peer.answer = lambda r: answer
    await consumer.round()
    ended = consumer.get(started.id)
    assert ended.state == "TERMINATED"
    assert ended.error_detail == "the provider's answer to our request has no providerPid"
    assert (ended.intent, ended.pending) == (None, False)


@pytest.mark.parametrize("role", ["provider", "consumer"])
async def test_an_answer_to_our_first_message_about_another_negotiation_ends_it_here(
    provider: Sender, consumer: Sender, role: str
) -> None:
    """The answer names, as our pid, one that is not this negotiation's: nothing to learn."""
    sender = provider if role == "provider" else consumer
    if role == "provider":
        started = _offered(provider)
        body = negotiation_body("urn:uuid:not-ours", "urn:uuid:theirs", "OFFERED")
    else:
        started = _started(consumer)
        body = negotiation_body("urn:uuid:theirs", "urn:uuid:not-ours", "REQUESTED")
    sender.peer.answer = lambda r: httpx.Response(201, json=body)
    await sender.round()
    ended = sender.get(started.id)
    assert ended.state == "TERMINATED"
    assert (ended.provider_pid if role == "consumer" else ended.consumer_pid) is None
    assert ended.error_detail is not None
    assert ended.error_detail.endswith("is about another negotiation ('urn:uuid:not-ours')")
    assert await sender.round() is False


def _offered(provider: Sender) -> NegotiationRecord:
    """A provider's administrator's offer to the consumer (provider-initiated), due now."""
    return provider.node.actions.offer(
        consumer_id=CONSUMER, address=CONSUMER_DSP, definition_id="cd-visits", dataset="visits"
    )


async def test_provider_learns_the_consumer_pid_from_the_answer_to_its_offer(
    provider: Sender,
) -> None:
    """A provider-initiated negotiation: the first offer goes to the consumer's
    ``/negotiations/offers`` with our callback address and no consumerPid; the consumer's
    pid comes from its answer, and the negotiation is OFFERED, nothing more due."""
    started = _offered(provider)
    assert (started.role, started.state, started.intent) == ("provider", "INITIAL", "OFFER")
    assert started.consumer_pid is None
    provider.peer.answer = lambda r: httpx.Response(
        201, json=negotiation_body(started.provider_pid, "urn:uuid:theirs", "OFFERED")
    )
    await provider.round()
    [sent] = provider.peer.received
    assert str(sent.url) == f"{CONSUMER_DSP}/negotiations/offers"
    body = json.loads(sent.content)
    assert errors("negotiation/contract-offer-message-schema.json", body) == []
    assert body["callbackAddress"] == PROVIDER_DSP
    assert body["providerPid"] == started.provider_pid
    assert "consumerPid" not in body
    assert body["offer"]["@id"] == OfferRef("cd-visits", "visits").id
    assert body["offer"]["target"] == "visits"
    offered = provider.get(started.id)
    assert (offered.state, offered.consumer_pid) == ("OFFERED", "urn:uuid:theirs")
    assert (offered.intent, offered.pending) == (None, False)
    history = provider.node.history(started.id)
    assert [(m.direction, m.message_type) for m in history] == [("out", "ContractOfferMessage")]


async def test_offer_acknowledged_without_a_consumer_pid_terminates(provider: Sender) -> None:
    started = _offered(provider)
    provider.peer.answer = lambda r: httpx.Response(201)
    await provider.round()
    ended = provider.get(started.id)
    assert ended.state == "TERMINATED"
    assert ended.error_detail == "the consumer's answer to our offer has no consumerPid"
    assert (ended.intent, ended.pending) == (None, False)


async def test_a_consumer_pid_another_negotiation_has_ends_the_offer_here(
    provider: Sender,
) -> None:
    """The consumer answers our offer with the pid of another of our negotiations with it."""
    first = _offered(provider)
    provider.peer.answer = lambda r: httpx.Response(
        201, json=negotiation_body(first.provider_pid, "urn:uuid:taken", "OFFERED")
    )
    await provider.round()
    second = _offered(provider)
    provider.peer.answer = lambda r: httpx.Response(
        201, json=negotiation_body(second.provider_pid, "urn:uuid:taken", "OFFERED")
    )
    await provider.round()
    ended = provider.get(second.id)
    assert (ended.state, ended.consumer_pid, ended.pending) == ("TERMINATED", None, False)
    assert ended.error_detail is not None
    assert ended.error_detail.startswith("the consumer's answer to our offer: ")
    assert (provider.get(first.id).state, provider.get(first.id).consumer_pid) == (
        "OFFERED",
        "urn:uuid:taken",
    )
    assert await provider.round() is False


async def test_an_acceptance_before_the_answer_to_our_offer_brings_the_consumer_pid(
    provider: Sender,
) -> None:
    """The consumer accepts our first offer before its answer to it is recorded: the acceptance
    proves the offer arrived and gives the consumer's pid, which the agreement then goes to."""
    started = _offered(provider)
    assert started.provider_pid is not None
    theirs = "urn:uuid:theirs"

    def answer(_request: httpx.Request) -> httpx.Response:
        message, body = inbound(event_message(started.provider_pid or "", theirs, "ACCEPTED"))
        provider.node.service.receive(
            ("provider",),
            requester=requester(),
            path_pid=started.provider_pid or "",
            message=message,
            body=body,
        )
        return httpx.Response(201, json=negotiation_body(started.provider_pid, theirs, "OFFERED"))

    provider.peer.answer = answer
    await provider.round()
    accepted = provider.get(started.id)
    assert (accepted.state, accepted.consumer_pid) == ("ACCEPTED", theirs)
    assert (accepted.intent, accepted.pending) == ("AGREE", True)  # auto: the policy allows it
    provider.peer.answer = acknowledge
    await provider.round()
    assert provider.get(started.id).state == "AGREED"
    assert provider.peer.paths()[-1] == f"/protocol/2025-1/negotiations/{theirs}/agreement"
    assert [(m.direction, m.message_type) for m in provider.node.history(started.id)] == [
        ("out", "ContractOfferMessage"),
        ("in", "ContractNegotiationEventMessage"),
        ("out", "ContractAgreementMessage"),
    ]


async def test_an_acceptance_by_a_participant_the_access_policy_hides_is_terminated(
    database: Database, identities: dict[str, NodeIdentity]
) -> None:
    """Our administrator's offer skipped the access policy (it needs the consumer's claims):
    the consumer's acceptance brings them, and the automatic decision applies it."""
    seed_offer(database, access=RESEARCH_ONLY)
    provider = _sender(database, identities, PROVIDER)
    try:
        started = _offered(provider)
        assert started.provider_pid is not None
        provider.peer.answer = lambda r: httpx.Response(
            201, json=negotiation_body(started.provider_pid, C, "OFFERED")
        )
        await provider.round()
        message, body = inbound(event_message(started.provider_pid, C, "ACCEPTED"))
        refused = provider.node.service.receive(
            ("provider",),
            requester=requester(org_type="company"),
            path_pid=started.provider_pid,
            message=message,
            body=body,
        )
        assert refused.state == "ACCEPTED"
        assert (refused.intent, refused.pending) == ("TERMINATE", True)
        assert refused.error_detail == NOT_ADMITTED
    finally:
        await provider.dispatcher.aclose()


async def test_a_first_offer_refused_while_a_termination_waits_ends_it_at_once(
    provider: Sender,
) -> None:
    """The administrator terminates while our first offer is on its way, and the consumer
    refuses the offer: the termination could not be addressed; ended here with the refusal."""
    started = _offered(provider)

    def answer(_request: httpx.Request) -> httpx.Response:
        terminating = provider.node.actions.act(started.id, Message.TERMINATE)
        assert (terminating.intent, terminating.pending) == ("TERMINATE", True)
        return httpx.Response(400, json={"reason": ["no thanks"]})

    provider.peer.answer = answer
    await provider.round()
    ended = provider.get(started.id)
    assert ended.state == "TERMINATED"
    assert (ended.intent, ended.pending) == (None, False)
    assert ended.error_detail is not None
    assert ended.error_detail.startswith("the peer refused our offer message")
    assert len(provider.peer.received) == 1
    assert await provider.round() is False


async def test_an_acceptance_of_a_withdrawn_offer_is_terminated(provider: Sender) -> None:
    """The contract definition is gone when the consumer accepts our first offer."""
    started = _offered(provider)
    assert started.provider_pid is not None
    provider.peer.answer = lambda r: httpx.Response(
        201, json=negotiation_body(started.provider_pid, C, "OFFERED")
    )
    await provider.round()
    with provider.node.database.transaction() as session:
        ContractDefinitionRepository(session).delete("cd-visits")
    message, body = inbound(event_message(started.provider_pid, C, "ACCEPTED"))
    refused = provider.node.service.receive(
        ("provider",), requester=requester(), path_pid=started.provider_pid, message=message,
        body=body,
    )  # fmt: skip
    assert (refused.intent, refused.pending) == ("TERMINATE", True)
    assert refused.error_detail == WITHDRAWN


async def _accepting(provider: Sender) -> tuple[str, Inbound, dict[str, Any]]:
    """Our first offer, acknowledged by the consumer; its acceptance (pid, message, body)."""
    started = _offered(provider)
    assert started.provider_pid is not None
    provider_pid = started.provider_pid
    provider.peer.answer = lambda r: httpx.Response(
        201, json=negotiation_body(provider_pid, C, "OFFERED")
    )
    await provider.round()
    message, body = inbound(event_message(provider_pid, C, "ACCEPTED"))
    return provider_pid, message, body


async def test_an_acceptance_of_an_offer_no_longer_made_for_the_dataset_is_terminated(
    provider: Sender,
) -> None:
    """The contract definition is still there, with its policies, but no longer selects the
    dataset: the catalogue no longer makes the offer (as a new request would be refused)."""
    provider_pid, message, body = await _accepting(provider)
    with provider.node.database.transaction() as session:
        definitions = ContractDefinitionRepository(session)
        selecting_another = replace(
            definitions.get("cd-visits"),
            assets_selector=[
                {"operandLeft": EDC + "id", "operator": "=", "operandRight": "another"}
            ],
        )
        definitions.update(selecting_another)
    refused = provider.node.service.receive(
        ("provider",), requester=requester(), path_pid=provider_pid, message=message, body=body
    )
    assert (refused.intent, refused.pending) == ("TERMINATE", True)
    assert refused.error_detail == WITHDRAWN


async def test_an_acceptance_is_decided_on_what_the_transaction_applying_it_reads(
    provider: Sender,
) -> None:
    """The offer is checked in the transaction that stores the decision, not in a snapshot of
    its own: an access policy changed earlier in that transaction (to one that denies a
    company) decides, rather than the policy committed before."""
    provider_pid, message, body = await _accepting(provider)

    def deny_companies(session: Connection) -> None:
        definitions = ContractDefinitionRepository(session)
        definition = definitions.get("cd-visits")
        definitions.update(replace(definition, access_policy_id=definition.contract_policy_id))

    refused = provider.node.service.receive(
        ("provider",),
        requester=requester(org_type="company"),
        path_pid=provider_pid,
        message=message,
        body=body,
        in_transaction=deny_companies,
    )
    assert (refused.intent, refused.pending) == ("TERMINATE", True)
    assert refused.error_detail == NOT_ADMITTED  # not the contract policy's reasons


async def test_an_answer_to_our_first_message_without_our_pid_is_learnt_from(
    consumer: Sender,
) -> None:
    """Our own pid is checked when the answer gives it; an answer with the peer's alone is
    enough."""
    started = _started(consumer)
    consumer.peer.answer = lambda r: httpx.Response(
        201,
        json={
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "ContractNegotiation",
            "providerPid": "urn:uuid:theirs",
            "state": "REQUESTED",
        },
    )
    await consumer.round()
    requested = consumer.get(started.id)
    assert (requested.state, requested.provider_pid) == ("REQUESTED", "urn:uuid:theirs")


@pytest.mark.parametrize("role", ["provider", "consumer"])
async def test_a_first_message_refused_ends_the_negotiation_here_at_once(
    provider: Sender, consumer: Sender, role: str
) -> None:
    """A peer that refuses our first message (4xx) knows no negotiation to terminate, and we
    have no pid to address it by: TERMINATED here at once, nothing more sent."""
    sender = provider if role == "provider" else consumer
    started = _offered(provider) if role == "provider" else _started(consumer)
    sender.peer.answer = lambda r: httpx.Response(400, json={"reason": ["no thanks"]})
    await sender.round()
    ended = sender.get(started.id)
    assert ended.state == "TERMINATED"
    assert (ended.intent, ended.pending) == (None, False)
    assert ended.error_detail is not None
    assert "the peer refused our" in ended.error_detail
    assert len(sender.peer.received) == 1
    assert await sender.round() is False


def _finalizing(provider: Sender, agreement: dict[str, Any], **changes: Any) -> NegotiationRecord:
    """A provider's verified negotiation whose FINALIZED event is due now."""
    return provider.node.store(
        negotiation(
            id=P,
            provider_pid=P,
            consumer_pid=C,
            state="VERIFIED",
            agreement=agreement,
            intent="FINALIZE",
            pending=True,
            next_attempt_at=provider.node.clock.now,
            **changes,
        )
    )


async def test_finalized_by_the_dispatcher_stores_the_agreement_once(provider: Sender) -> None:
    agreement = agreement_body()
    verified = _finalizing(provider, agreement, purpose=OFFICIAL_STATISTICS)
    await provider.round()
    assert provider.peer.paths() == [f"/protocol/2025-1/negotiations/{C}/events"]
    assert provider.peer.bodies()[0]["eventType"] == "FINALIZED"
    finalized = provider.get(verified.id)
    assert finalized.state == "FINALIZED"
    assert finalized.agreement_id == agreement["@id"]
    [kept] = provider.node.agreements()
    assert (kept.id, kept.provider_id, kept.consumer_id) == (agreement["@id"], PROVIDER, CONSUMER)
    assert (kept.negotiation_id, kept.purpose) == (P, OFFICIAL_STATISTICS)


async def test_an_agreement_whose_id_is_another_negotiations_is_not_kept(
    provider: Sender,
) -> None:
    # The id is taken by an agreement this node keeps for another negotiation (e.g. one where a
    # peer, as provider, reused it): the outcome is recorded, not retried forever.
    agreement = agreement_body()
    with provider.node.database.transaction() as session:
        AgreementRepository(session).create(
            AgreementRecord(
                id=agreement["@id"],
                asset_id="visits",
                provider_id=CONSUMER,
                consumer_id=PROVIDER,
                policy=agreement,
                signed_at=provider.node.clock.now,
                negotiation_id="urn:uuid:another",
                created_at=provider.node.clock.now,
            )
        )
    verified = _finalizing(provider, agreement)
    await provider.round()
    ended = provider.get(verified.id)
    assert (ended.state, ended.pending, ended.agreement_id) == ("TERMINATED", False, None)
    assert ended.error_detail is not None
    assert "another negotiation's" in ended.error_detail
    [kept] = provider.node.agreements()
    assert kept.negotiation_id == "urn:uuid:another"


# Not acknowledged ------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["503", "429", "409", "connect"])
async def test_unreachable_peer_is_retried_with_backoff_then_terminated(
    provider: Sender, failure: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        if failure == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(int(failure), text="busy")

    created = _requested(provider)
    provider.peer.answer = fail
    clock = provider.node.clock
    expected_delays = [1.0, 2.0, 3.0]  # base 1 s doubling, capped at 3 s
    for attempt, delay in enumerate(expected_delays, start=1):
        await provider.round()
        waiting = provider.get(created.id)
        assert (waiting.state, waiting.intent, waiting.pending) == ("REQUESTED", "AGREE", True)
        assert waiting.attempts == attempt
        assert waiting.next_attempt_at == clock.now + timedelta(seconds=delay)
        assert len(provider.peer.received) == attempt
        await provider.round()  # not due yet: nothing is sent
        assert len(provider.peer.received) == attempt
        clock.advance(delay)
    await provider.round()  # the fourth attempt is the last (max_attempts = 4)
    assert len(provider.peer.received) == 4
    ended = provider.get(created.id)
    assert ended.state == "TERMINATED"
    assert (ended.intent, ended.pending) == (None, False)
    assert ended.error_detail is not None
    assert ended.error_detail.startswith("agree could not be delivered after 4 attempts")
    assert all(m.direction == "in" for m in provider.node.history(created.id))


async def test_refused_message_is_followed_by_a_termination(provider: Sender) -> None:
    created = _requested(provider)
    provider.peer.answer = lambda r: httpx.Response(400, json={"reason": "no thanks"})
    await provider.round()
    refused = provider.get(created.id)
    assert refused.state == "REQUESTED"
    assert (refused.intent, refused.pending, refused.attempts) == ("TERMINATE", True, 0)
    assert refused.error_detail is not None
    assert refused.error_detail.startswith("the peer refused our agree message")
    assert "HTTP 400" in refused.error_detail
    provider.peer.answer = acknowledge
    await provider.round()
    assert provider.peer.paths()[-1] == f"/protocol/2025-1/negotiations/{C}/termination"
    sent = provider.peer.bodies()[-1]
    assert errors("negotiation/contract-negotiation-termination-message-schema.json", sent) == []
    assert sent["reason"] == [refused.error_detail]
    ended = provider.get(created.id)
    assert (ended.state, ended.intent) == ("TERMINATED", None)


async def test_a_refusal_quoting_unstorable_bytes_is_recorded(provider: Sender) -> None:
    # The peer's answer is quoted in the reason; a NUL there could not be stored on PostgreSQL,
    # the outcome was never recorded, and the message went out again after every lease.
    created = _requested(provider)
    provider.peer.answer = lambda r: httpx.Response(400, content=b"bad\x00request \xed\xa0\x80")
    await provider.round()
    refused = provider.get(created.id)
    assert (refused.intent, refused.attempts) == ("TERMINATE", 0)
    assert refused.error_detail is not None
    assert "HTTP 400: bad?request" in refused.error_detail
    assert refused.error_detail.isprintable()


async def test_a_refused_termination_ends_the_negotiation_here(provider: Sender) -> None:
    created = _requested(provider, org_type="company")  # the policy denies: TERMINATE intended
    assert created.intent == "TERMINATE"
    provider.peer.answer = lambda r: httpx.Response(404)
    await provider.round()
    assert len(provider.peer.received) == 1
    ended = provider.get(created.id)
    assert ended.state == "TERMINATED"
    assert ended.error_detail == created.error_detail  # the reason we wanted to give
    assert (ended.intent, ended.pending) == (None, False)


async def test_a_refused_address_is_never_called(provider: Sender) -> None:
    stored = provider.node.store(
        negotiation(
            counterparty_address="https://127.0.0.1/protocol/2025-1",
            intent="AGREE",
            pending=True,
            next_attempt_at=provider.node.clock.now,
            agreement=agreement_body(),
        )
    )
    await provider.round()
    assert provider.peer.received == []
    ended = provider.get(stored.id)
    # Nothing can reach the peer: terminated at once, not "refused by the peer", no
    # termination message queued for an address that is refused anyway.
    assert ended.state == "TERMINATED"
    assert (ended.intent, ended.pending) == (None, False)
    assert ended.error_detail is not None
    assert ended.error_detail.startswith("agree could not be sent: the peer's address is refused")


def _meanwhile(
    provider: Sender, provider_pid: str, sent: dict[str, Any], status: int
) -> Callable[[httpx.Request], httpx.Response]:
    """A consumer's answer (``status``) that first applies its message ``sent`` to the
    provider's negotiation: that message arrives while ours is on its way."""

    def answer(_request: httpx.Request) -> httpx.Response:
        message, body = inbound(sent)
        provider.node.service.receive(
            ("provider",), requester=requester(), path_pid=provider_pid, message=message, body=body
        )
        return httpx.Response(status)

    return answer


async def test_a_failure_for_an_intent_that_changed_meanwhile_writes_nothing(
    provider: Sender,
) -> None:
    created = _requested(provider)
    assert created.provider_pid is not None
    provider_pid = created.provider_pid

    # While our agreement is on its way, the consumer's termination is applied.
    provider.peer.answer = _meanwhile(
        provider, provider_pid, termination(provider_pid, C, "gave up"), 503
    )
    await provider.round()
    current = provider.get(created.id)
    assert current.state == "TERMINATED"
    assert current.attempts == 0  # the failed attempt was not recorded over the new state
    assert current.error_detail == f"{CONSUMER}: gave up"
    assert (current.intent, current.pending) == (None, False)


async def test_an_acknowledgement_after_the_peer_moved_on_keeps_the_new_state(
    provider: Sender,
) -> None:
    created = _requested(provider)
    assert created.provider_pid is not None
    provider_pid = created.provider_pid

    # The consumer verifies our agreement before our acknowledgement is recorded.
    provider.peer.answer = _meanwhile(provider, provider_pid, verification(provider_pid, C), 200)
    await provider.round()
    current = provider.get(created.id)
    assert current.state == "VERIFIED"
    assert (current.intent, current.pending) == ("FINALIZE", True)
    provider.peer.answer = acknowledge
    await provider.round()
    assert provider.get(created.id).state == "FINALIZED"
    assert [m.rsplit("/", 1)[-1] for m in provider.peer.paths()] == ["agreement", "events"]
    assert len(provider.node.agreements()) == 1
    # Each message sent is in the history once: the agreement recorded by the service when the
    # verification proved it arrived, not again when its acknowledgement was settled.
    assert [(m.direction, m.message_type) for m in provider.node.history(created.id)] == [
        ("in", "ContractRequestMessage"),
        ("out", "ContractAgreementMessage"),
        ("in", "ContractAgreementVerificationMessage"),
        ("out", "ContractNegotiationEventMessage"),
    ]


async def test_a_message_acknowledged_before_a_termination_stays_in_the_history(
    provider: Sender,
) -> None:
    created = _requested(provider)
    assert created.provider_pid is not None
    provider_pid = created.provider_pid

    # The consumer applies our agreement, then terminates before our dispatcher has recorded
    # the acknowledgement.
    provider.peer.answer = _meanwhile(
        provider, provider_pid, termination(provider_pid, C, "changed its mind"), 200
    )
    await provider.round()
    assert provider.get(created.id).state == "TERMINATED"
    history = [(m.direction, m.message_type) for m in provider.node.history(created.id)]
    assert history == [
        ("in", "ContractRequestMessage"),
        ("in", "ContractNegotiationTerminationMessage"),
        ("out", "ContractAgreementMessage"),
    ]


async def test_a_termination_decided_while_the_request_is_on_its_way_follows_its_answer(
    consumer: Sender,
) -> None:
    # The request may arrive: the termination cannot stop the negotiation here (the provider
    # would keep its own); it waits for the request's answer and goes to the pid it brings.
    started = _started(consumer)

    def terminate_meanwhile(_request: httpx.Request) -> httpx.Response:
        terminating = consumer.node.actions.act(started.id, Message.TERMINATE, reason="stop")
        assert (terminating.state, terminating.intent) == ("INITIAL", "TERMINATE")
        return httpx.Response(
            201, json=negotiation_body("urn:uuid:learned", started.id, "REQUESTED")
        )

    consumer.peer.answer = terminate_meanwhile
    await consumer.round()
    requested = consumer.get(started.id)
    assert (requested.state, requested.provider_pid) == ("REQUESTED", "urn:uuid:learned")
    assert (requested.intent, requested.pending) == ("TERMINATE", True)
    consumer.peer.answer = acknowledge
    await consumer.round()
    assert consumer.get(started.id).state == "TERMINATED"
    assert [path.removeprefix("/protocol/2025-1") for path in consumer.peer.paths()] == [
        "/negotiations/request",
        "/negotiations/urn:uuid:learned/termination",
    ]
    assert consumer.peer.bodies()[1]["reason"] == ["stop"]


async def test_a_termination_after_an_unanswered_request_ends_the_negotiation_here(
    consumer: Sender,
) -> None:
    # The request went out once (no answer): it may have arrived, so the administrator's
    # termination waits for its answer (the providerPid) to be sent; none ever comes, so after
    # the last attempt the negotiation ends here alone, and nothing is sent without a pid.
    started = _started(consumer)
    consumer.peer.answer = lambda r: httpx.Response(503)
    await consumer.round()
    assert consumer.get(started.id).attempts == 1
    terminating = consumer.node.actions.act(started.id, Message.TERMINATE, reason="stop")
    assert (terminating.state, terminating.intent, terminating.pending) == (
        "INITIAL",
        "TERMINATE",
        True,
    )
    for _ in range(SETTINGS.max_attempts):
        await consumer.round()
        consumer.node.clock.advance(SETTINGS.retry_max_seconds)
    ended = consumer.get(started.id)
    assert (ended.state, ended.intent, ended.pending) == ("TERMINATED", None, False)
    assert ended.error_detail == "stop"
    assert len(consumer.peer.received) == 1  # the request only


async def test_a_termination_while_the_running_dispatcher_sends_the_request_reaches_the_peer(
    consumer: Sender,
) -> None:
    # As in a node: the dispatcher runs, the request waits for its answer, the administrator
    # terminates (the dispatcher is woken and claims again meanwhile). The termination must
    # not end the negotiation here alone: it goes out once the answer brings the providerPid.
    started = _started(consumer)
    arrived, release = asyncio.Event(), asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/negotiations/request"):
            arrived.set()
            await release.wait()
            return httpx.Response(
                201, json=negotiation_body("urn:uuid:learned", started.id, "REQUESTED")
            )
        return httpx.Response(200)

    consumer.peer.answer = answer  # type: ignore[assignment]
    running = asyncio.create_task(consumer.dispatcher.run())
    try:
        await asyncio.wait_for(arrived.wait(), 10)
        consumer.node.actions.act(started.id, Message.TERMINATE, reason="stop")
        consumer.dispatcher.wake()
        for _ in range(20):  # let it claim (and try) the termination while the answer waits
            await asyncio.sleep(0.01)
        waiting = consumer.get(started.id)
        assert (waiting.state, waiting.intent, waiting.pending) == ("INITIAL", "TERMINATE", True)
        release.set()
        for _ in range(500):
            if consumer.get(started.id).state == "TERMINATED":
                break
            await asyncio.sleep(0.01)
    finally:
        consumer.dispatcher.stop()
        await running
    ended = consumer.get(started.id)
    assert (ended.state, ended.provider_pid, ended.error_detail) == (
        "TERMINATED",
        "urn:uuid:learned",
        "stop",
    )
    assert [path.removeprefix("/protocol/2025-1") for path in consumer.peer.paths()] == [
        "/negotiations/request",
        "/negotiations/urn:uuid:learned/termination",
    ]


async def test_an_unexpected_failure_while_sending_is_recorded_as_an_attempt(
    provider: Sender,
) -> None:
    # E.g. a bug, or a peer's answer no code path expected: the attempt is recorded and tried
    # again later, instead of the message staying leased and unrecorded.
    created = _requested(provider)

    def broken(_request: httpx.Request) -> httpx.Response:
        raise RuntimeError("unexpected")

    provider.peer.answer = broken
    await provider.round()
    current = provider.get(created.id)
    assert (current.state, current.intent, current.pending) == ("REQUESTED", "AGREE", True)
    assert current.attempts == 1
    assert current.next_attempt_at is not None
    assert current.next_attempt_at > provider.node.clock.now


async def test_a_claimed_negotiation_without_intent_is_settled(provider: Sender) -> None:
    stored = provider.node.store(
        negotiation(pending=True, intent=None, next_attempt_at=provider.node.clock.now)
    )
    await provider.round()
    assert provider.peer.received == []
    settled = provider.get(stored.id)
    assert (settled.pending, settled.next_attempt_at, settled.state) == (False, None, "REQUESTED")


# Where each message goes, and what it says -----------------------------------------------------


def _routes() -> Iterator[tuple[str, str]]:
    for path, dsp_type, _roles, _summary in MESSAGES:
        yield path, dsp_type
    yield "/request", "ContractRequestMessage"
    yield "/offers", "ContractOfferMessage"


WHERE: list[tuple[Role, Message, dict[str, Any], str]] = [
    ("consumer", Message.REQUEST, {"provider_pid": None}, "/negotiations/request"),
    ("consumer", Message.REQUEST, {}, f"/negotiations/{P}/request"),
    ("consumer", Message.ACCEPT, {}, f"/negotiations/{P}/events"),
    ("consumer", Message.VERIFY, {}, f"/negotiations/{P}/agreement/verification"),
    ("consumer", Message.TERMINATE, {}, f"/negotiations/{P}/termination"),
    ("provider", Message.OFFER, {"consumer_pid": None}, "/negotiations/offers"),
    ("provider", Message.OFFER, {}, f"/negotiations/{C}/offers"),
    ("provider", Message.AGREE, {}, f"/negotiations/{C}/agreement"),
    ("provider", Message.FINALIZE, {}, f"/negotiations/{C}/events"),
    ("provider", Message.TERMINATE, {}, f"/negotiations/{C}/termination"),
]


@pytest.mark.parametrize(
    ("role", "pid", "path"),
    [
        ("consumer", "a/b?c#d%e", "/negotiations/a%2Fb%3Fc%23d%25e/termination"),
        ("provider", "urn:x:1 2", "/negotiations/urn:x:1%202/termination"),
    ],
)
def test_a_peer_pid_stays_one_path_segment(role: Role, pid: str, path: str) -> None:
    record = negotiation(role=role, provider_pid=pid, consumer_pid=pid)
    assert _path(record, Message.TERMINATE) == path


@pytest.mark.parametrize(("role", "kind", "changes", "path"), WHERE)
def test_each_message_goes_to_the_endpoint_receiving_its_type(
    role: Role, kind: Message, changes: dict[str, Any], path: str
) -> None:
    record = negotiation(**({"role": role, "provider_pid": P, "consumer_pid": C} | changes))
    assert _path(record, kind) == path
    route = path.removeprefix("/negotiations").replace(P, "{pid}").replace(C, "{pid}")
    assert (route, DSP_TYPES[kind]) in set(_routes())


BODIES: list[tuple[Role, Message, dict[str, Any]]] = [
    ("consumer", Message.REQUEST, {"provider_pid": None, "purpose": OFFICIAL_STATISTICS}),
    ("consumer", Message.REQUEST, {}),
    ("consumer", Message.ACCEPT, {}),
    ("consumer", Message.VERIFY, {}),
    ("consumer", Message.TERMINATE, {"error_detail": "too expensive"}),
    ("provider", Message.OFFER, {"consumer_pid": None}),
    ("provider", Message.OFFER, {}),
    ("provider", Message.AGREE, {"agreement": agreement_body()}),
    ("provider", Message.FINALIZE, {}),
    ("provider", Message.TERMINATE, {}),
]


@pytest.mark.parametrize(("role", "kind", "changes"), BODIES)
def test_message_body_from_stored_state_validates_against_the_dsp_schema(
    role: Role, kind: Message, changes: dict[str, Any]
) -> None:
    record = negotiation(**({"role": role, "provider_pid": P, "consumer_pid": C} | changes))
    callback = CONSUMER_DSP if role == "consumer" else PROVIDER_DSP
    body = message_body(record, kind, callback)
    assert errors(f"negotiation/{SCHEMAS[kind]}-schema.json", body) == []
    assert body == message_body(record, kind, callback)  # a resend is the same message
    if kind == Message.TERMINATE and record.error_detail:
        assert body["reason"] == [record.error_detail]
    if "purpose" in changes:
        assert body["https://w3id.org/etds/policy#declaredPurpose"] == {"@id": OFFICIAL_STATISTICS}


# Over TLS, with the node's own transport -------------------------------------------------------


async def test_a_peer_certified_by_the_private_authority_listed_is_sent_to(
    database: Database,
    identities: dict[str, NodeIdentity],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No mock here: the dispatcher's own transport (aiohttp, the connect-time address check)
    posts the request to a TLS peer whose certificate a private authority signed, trusted
    through ``security.tls_ca_file`` and refused without it."""
    caplog.set_level(logging.INFO, logger="etds.negotiation")
    authority = private_ca(tmp_path)
    answer = http_answer("201 Created", json.dumps(negotiation_body(P, C, "REQUESTED")).encode())
    allowed = {"callback_allow_hosts": ["127.0.0.1"], "allow_http_callbacks": False}
    consumer = node(database, CONSUMER, public_url="https://consumer.test")

    def dispatcher(security: SecuritySettings) -> NegotiationDispatcher:
        return NegotiationDispatcher(
            database,
            identities[CONSUMER],
            participant_id=CONSUMER,
            callback_address="https://consumer.test/protocol/2025-1",
            processor=dsp_processor(),
            settings=SETTINGS,
            security=security,
            clock=consumer.clock,
        )

    async with TlsPeer(authority, answer).serving() as peer:
        with database.transaction() as session:
            NegotiationRepository(session).create(
                negotiation(
                    id="urn:uuid:over-tls", role="consumer", state="INITIAL", intent="REQUEST",
                    pending=True, counterparty_id=PROVIDER,
                    counterparty_address=peer.url + "/protocol/2025-1", provider_pid=None,
                    consumer_pid=C, offered_by="provider", next_attempt_at=consumer.clock(),
                )
            )  # fmt: skip
        public_only = dispatcher(SecuritySettings(**allowed))
        try:
            await public_only.dispatch_due()
        finally:
            await public_only.aclose()
        refused = consumer.get("urn:uuid:over-tls")
        assert (refused.state, refused.attempts, peer.received) == ("INITIAL", 1, [])
        details = [str(getattr(record, "detail", "")) for record in caplog.records]
        assert any("certificate verify failed" in detail for detail in details), details

        consumer.clock.advance(SETTINGS.retry_max_seconds)  # the retry is due
        trusting = dispatcher(SecuritySettings(**allowed, tls_ca_file=authority.ca_file))
        try:
            await trusting.dispatch_due()
        finally:
            await trusting.aclose()
    sent = consumer.get("urn:uuid:over-tls")
    assert (sent.state, sent.provider_pid, sent.pending) == ("REQUESTED", P, False)
    [request_bytes] = peer.received
    assert request_bytes.startswith(b"POST /protocol/2025-1/negotiations/request HTTP/1.1\r\n")
    assert b'"@type":"ContractRequestMessage"' in request_bytes.replace(b" ", b"")


async def test_no_place_where_the_database_work_runs_on_threads(
    database: Database, identities: dict[str, NodeIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    off = Database.from_url(database.url.render_as_string(hide_password=False), run_on_loop=False)
    try:
        provider = _patient(off, identities, poll_seconds=60.0)
        claimed = _claims_counted(provider, monkeypatch)
        peer = SlowToAnswer(slow=frozenset())
        async with _dispatching(provider, peer):
            for _ in range(100):  # until run() has started on this loop
                if provider.dispatcher._loop is not None:
                    break
                await asyncio.sleep(0.01)
            assert provider.dispatcher.reserve(CONSUMER) is None
            record, then = await provider.dispatcher.applied(CONSUMER, _apply_request(provider))
            assert record.intent == "AGREE"
            await then()  # no place: wakes the dispatcher, which claims it
            assert await peer.next_arrival() == C
            await _until_state(provider, record.id, "AGREED")
        assert sum(claimed) == 1
        assert provider.dispatcher.places_kept == 0
    finally:
        off.dispose()


async def test_a_request_cancelled_while_its_work_waits_on_a_thread_still_sends_postgresql(
    database: Database, identities: dict[str, NodeIdentity]
) -> None:
    """PostgreSQL: the loop's own thread holds a transaction across an ``await`` (here one that
    blocks inserts into contract_negotiations), so the request's work goes to a worker thread and
    waits there; cancelled meanwhile, its transaction still commits once the loop's does, and the
    message it leased leaves at once (not after the 180 s lease nor the 60 s poll)."""
    if database.backend != "postgresql":
        pytest.skip("SQLite: test_a_request_cancelled_after_its_transaction_committed_still_…")
    provider = _patient(database, identities, poll_seconds=60.0)
    peer = SlowToAnswer(slow=frozenset())
    async with _dispatching(provider, peer):
        provider.dispatcher.give_back(await _place(provider))  # run() has started
        with database.transaction() as session:
            session.execute(text("LOCK TABLE contract_negotiations IN SHARE MODE"))
            request = asyncio.create_task(
                provider.dispatcher.applied(CONSUMER, _apply_request(provider))
            )
            await asyncio.sleep(0.2)
            assert not request.done()  # its work waits for the lock, in a worker thread
            request.cancel()
            await asyncio.sleep(0.1)
            assert not request.done()  # cancelled while running: waited for
        with pytest.raises(asyncio.CancelledError):
            await request
        assert await peer.next_arrival() == C
        for _ in range(200):
            if provider.dispatcher.places_kept == 0:
                break
            await asyncio.sleep(0.01)
    assert provider.dispatcher.places_kept == 0
