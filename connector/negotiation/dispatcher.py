"""Sends the messages negotiations intend to send (persisted intent → the peer → new state).

The dispatcher claims due negotiations (``pending`` with ``next_attempt_at`` reached, no live
lease of another replica) in a short transaction, sends each message without holding any
database lock (unless less than ``timeout_seconds`` of its lease is left: then it waits for a
later claim, so that no other replica can claim it while it is on its way), then records the
outcome in another transaction:

* the peer acknowledged (2xx): the state moves as the transition table says; our first message
  (a consumer's request, a provider's offer) also learns the peer's pid from the answer;
  FINALIZED stores the agreement;
* the peer cannot be reached, or answers 5xx, 408 or 429: the message is due again after an
  exponential backoff, until ``max_attempts`` — then the negotiation is TERMINATED with the reason;
* any other 4xx: the peer refused the message; the negotiation is TERMINATED with the reason.

New intent on this replica wakes the dispatcher at once (:meth:`wake`); retries and work written by
other replicas are found by polling every ``poll_seconds``. Where database work runs on the event
loop (SQLite; PostgreSQL when asked), a message made due by a request is not claimed at all: the
transaction that stores its intent leases it to this dispatcher, which sends it right after the
answer to that request (:meth:`reserve`, :meth:`send_reserved`). Messages go out concurrently (at
most :data:`MAX_SENDING` claimed ones per replica, at most :data:`MAX_PER_PEER` of them to one peer,
and as many again from places, so that places never hold back a claimed message); new intent waits
for the messages on their way to be answered, at most :data:`BATCH_WINDOW_SECONDS`, so that one
claim takes many. A peer slow to answer (or that makes us send it many messages) takes at most
:data:`MAX_PER_PEER` places: the others stay free for the other peers. A save that loses a race (an
inbound message changed the negotiation meanwhile) re-reads and applies what is still true.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from catalog.contexts import DSPACE
from catalog.jsonld import JsonLdProcessingError, JsonLdProcessor
from connector.http.fetch import CookielessAsyncClient, FetchError, send
from connector.http.outbound import (
    OutboundRefused,
    PublicAddressResolver,
    check_outbound_url_async,
)
from connector.http.tls import outbound_ssl_context
from connector.http.transport import AiohttpTransport
from connector.identity.client import TokenRequestFailed
from connector.identity.service import NodeIdentity
from connector.negotiation.agreements import store_agreement
from connector.negotiation.errors import NegotiationProtocolError
from connector.negotiation.intent import SendPlace, due_at, intend, settled, storable_detail
from connector.negotiation.messages import MAX_PID_LENGTH, message_body
from connector.negotiation.states import DSP_TYPES, Message, Role, State, advance, allowed
from connector.negotiation.terms import their_pid
from connector.settings import NegotiationSettings, SecuritySettings
from connector.store.database import Database
from connector.store.errors import AlreadyExists, NotFound, StaleRecord
from connector.store.records import NegotiationRecord
from connector.store.repositories.negotiations import NegotiationRepository

log = logging.getLogger("etds.negotiation")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


MAX_ANSWER_BYTES = 256 * 1024
RETRYABLE = frozenset({408, 409, 425, 429})
"""4xx answers worth another try: timeouts, too early/many, and 409 (the negotiation was changing
on the peer's side — our message was not applied)."""
CLAIM_BATCH = 50
MAX_SENDING = 64
"""Claimed messages one replica has on their way at once (each holds a lease and, until answered,
a connection to its peer); messages sent from places (:meth:`NegotiationDispatcher.reserve`) have
as many of their own."""
MAX_PER_PEER = 16
"""Claimed messages one replica has on their way to one peer at once: a peer slow to answer, or
one that starts many negotiations at once, holds at most this many of the :data:`MAX_SENDING`
places; and as many places of its own for the messages its requests make due. Places never
take a claim's room: a message left to a claim is not overtaken by later ones for ever."""
PEER_CONNECTIONS = 2 * MAX_PER_PEER
"""Connections to one peer: as many as messages on their way to it, claimed or from places (a
message never waits for a connection, which would count against its timeout), all of them kept
open between messages (:class:`~connector.http.transport.AiohttpTransport`)."""
BATCH_WINDOW_SECONDS = 0.05
"""How long new intent may wait for the messages on their way before it is claimed: one claim
then takes many messages. Claiming each message as it becomes due costs more CPU per message
under load (measured: 10 to 20 % fewer negotiations per second)."""


CLAIM_PASSES = 5
"""Passes of one claim (each leaves out the peers the previous ones filled up): enough for the
:data:`MAX_SENDING` places to be shared by several peers; what remains waits for the next claim."""


@dataclass(frozen=True)
class Claimed:
    """What one claim leased: the messages to send, whether more may be due already for peers
    with room (the last pass found as many as it asked for), and whether messages were handed
    back for lack of room (due again as soon as their peer has some)."""

    records: list[NegotiationRecord]
    more: bool
    at: datetime
    """When the leases began (the first pass): a message goes out only while its lease will
    outlast the send, counted from here, not from when the claim was asked for (it may have
    waited for a worker thread)."""
    handed_back: bool = False


@dataclass(frozen=True)
class Sent:
    """What happened to one message: acknowledged, refused, or worth another try."""

    acknowledged: bool
    retry: bool = False
    detail: str = ""
    answer: Any = None
    unsent: bool = False  # this node could not send it at all (no identity, address refused)
    body: dict[str, Any] | None = None  # what was sent (for the history, once acknowledged)
    their_pid: str | None = None  # the peer's pid, from the answer to our first message
    pid_problem: str | None = None  # why that answer gives us no pid to keep (then TERMINATED)


# RFC 3986 pchar, less the unreserved characters quote() keeps anyway: a peer's pid stays one
# path segment whatever it holds ("/", "?", "#" and "%" are escaped).
_PCHAR = ":@!$&'()*+,;="


def _segment(pid: str | None) -> str:
    return quote(pid or "", safe=_PCHAR)


def _first_message(record: NegotiationRecord, kind: Message) -> bool:
    """Whether ``kind`` opens the negotiation (the peer has no pid for it yet)."""
    opening = Message.REQUEST if record.role == "consumer" else Message.OFFER
    return kind == opening and their_pid(record) is None


def _refused(kind: Message, outcome: Sent) -> str:
    return f"the peer refused our {kind.value.lower()} message: {outcome.detail}"


def _answer_to_first(record: NegotiationRecord) -> str:
    """What the peer's answer to our first message is called, in a reason."""
    if record.role == "consumer":
        return "the provider's answer to our request"
    return "the consumer's answer to our offer"


def _path(record: NegotiationRecord, kind: Message) -> str:
    """Where ``kind`` goes, relative to the counterparty's address."""
    if record.role == "consumer":
        if _first_message(record, kind):
            return "/negotiations/request"
        pid = _segment(record.provider_pid)
        suffix = {
            Message.REQUEST: "/request",
            Message.ACCEPT: "/events",
            Message.VERIFY: "/agreement/verification",
            Message.TERMINATE: "/termination",
        }[kind]
        return f"/negotiations/{pid}{suffix}"
    if _first_message(record, kind):
        return "/negotiations/offers"
    suffix = {
        Message.OFFER: "/offers",
        Message.AGREE: "/agreement",
        Message.FINALIZE: "/events",
        Message.TERMINATE: "/termination",
    }[kind]
    return f"/negotiations/{_segment(record.consumer_pid)}{suffix}"


class NegotiationDispatcher:
    """One per node process; replicas coordinate through leases in the database."""

    def __init__(
        self,
        database: Database,
        identity: NodeIdentity,
        *,
        participant_id: str,
        callback_address: str,
        processor: JsonLdProcessor,
        settings: NegotiationSettings,
        security: SecuritySettings,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._participant_id = participant_id
        self._identity = identity
        self._callback = callback_address
        self._processor = processor
        self._settings = settings
        self._security = security
        self._transport = transport
        self._ssl_context = ssl_context or outbound_ssl_context(security.tls_ca_file)
        self._clock = clock
        self._holder = f"negotiation-{uuid.uuid4()}"
        self._wakeup: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._clients: dict[str, httpx.AsyncClient] = {}
        # Messages on their way: those claimed (run's tasks) and the places kept for messages
        # requests make due (reserve), and both by peer.
        self._sending: set[asyncio.Task[None]] = set()
        self._placed = 0  # places kept (reserve), not yet given back
        self._placed_to_peer: Counter[str] = Counter()
        self._sending_reserved: set[asyncio.Future[None]] = set()  # send_reserved's, running
        self._detached: set[asyncio.Task[None]] = set()  # sends of cancelled requests (applied)
        self._to_peer: Counter[str] = Counter()

    # Waking up ---------------------------------------------------------------------------------

    def wake(self) -> None:
        """New intent: look for work now (callable from any thread)."""
        loop, event = self._loop, self._wakeup
        if loop is None or event is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(event.set)

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    async def run(self) -> None:
        """Dispatch until :meth:`stop`, then wait for the messages on their way.

        Claimed messages go out as tasks. Before claiming again, the dispatcher waits for the
        messages on their way to be answered, but at most :data:`BATCH_WINDOW_SECONDS`: under
        load, messages that became due meanwhile are claimed together (one transaction for many),
        and a slow peer holds back the messages due to the others by no more than the window
        (its own messages take at most :data:`MAX_PER_PEER` places).
        """
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        sending = self._sending

        def sent(peer: str, task: asyncio.Task[None]) -> None:
            self._answered(peer)
            sending.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("negotiation dispatcher: a message failed", exc_info=task.exception())

        try:
            while not self._stopping:
                self._wakeup.clear()
                room = min(MAX_SENDING - len(sending), CLAIM_BATCH)
                claimed = Claimed([], more=False, at=self._clock())
                if room > 0:
                    try:
                        claimed = await self._database.run(self._claim, room, dict(self._to_peer))
                    except Exception:  # a database outage must not end the dispatcher
                        log.exception("negotiation dispatcher: claiming due messages failed")
                for record in claimed.records:
                    task = asyncio.create_task(self._dispatch(record, claimed.at))
                    sending.add(task)
                    self._to_peer[record.counterparty_id] += 1
                    task.add_done_callback(functools.partial(sent, record.counterparty_id))
                if not claimed.more:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), self._settings.poll_seconds)
                if sending:
                    await asyncio.wait(sending, timeout=BATCH_WINDOW_SECONDS)
        finally:
            # Each send ends within timeout_seconds, then its outcome is stored.
            on_their_way = [*sending, *self._sending_reserved]
            if on_their_way:
                await asyncio.wait(on_their_way)
            await self.aclose()

    def _answered(self, peer: str) -> None:
        """A claimed message to ``peer`` is no longer on its way: if that frees a place a claim
        lacked, claim again."""
        full = len(self._sending) >= MAX_SENDING or self._to_peer[peer] >= MAX_PER_PEER
        self._to_peer[peer] -= 1
        if self._to_peer[peer] <= 0:
            del self._to_peer[peer]
        if full and self._wakeup is not None:
            self._wakeup.set()

    # Messages requests make due --------------------------------------------------------------

    def reserve(self, peer: str) -> SendPlace | None:
        """A place for the message a request from ``peer`` (an inbound message, an
        administrator's new negotiation with it) may make due, for the transaction that applies
        it; None when the database work does not run on the event loop, the dispatcher does not
        run on this loop or is stopping, or all the places (:data:`MAX_SENDING`, or
        :data:`MAX_PER_PEER` for ``peer``) are kept: the message is then claimed as usual.
        :meth:`applied` takes one, runs the transaction and gives it back or sends from it.

        The transaction leases the negotiation to this dispatcher as it stores the message's
        intent (no claim: no other transaction, no other replica can take it), and the message
        goes out right after the answer to the request, before the node turns to the next
        request it has queued. Claimed by :meth:`run` instead, it waits behind all of them, and
        under load the two nodes of a negotiation take turns, each working through a burst of
        messages while the other waits for it.

        Only where :attr:`Database.runs_on_loop` (SQLite; PostgreSQL when asked): the nodes
        then overlap more and send more negotiations per second at moderate load (measured on
        SQLite: 1.22-1.30 times at 16 in flight; at 64, with the machine busy anyway,
        0.89-1.09: claims' batches cost less CPU). Where the database work runs on threads
        (PostgreSQL by default), the message sent at once competes with them for Python's GIL
        and the node spends more CPU per negotiation than the claims save (measured on
        loopback: 0.85-0.89 times the negotiations per second); see docs/benchmarks.md."""
        if not self._database.runs_on_loop:
            return None
        running_here = self._loop is not None and _running_loop() is self._loop
        if not running_here or self._stopping:
            return None
        if self._placed >= MAX_SENDING or self._placed_to_peer[peer] >= MAX_PER_PEER:
            return None
        self._placed += 1
        self._placed_to_peer[peer] += 1
        return SendPlace(self._holder, self._settings.lease_seconds, peer=peer)

    @property
    def places_kept(self) -> int:
        """Places reserved and not given back yet (their messages on their way, or their
        requests still being applied)."""
        return self._placed

    async def applied(
        self, peer: str, work: Callable[[SendPlace | None], NegotiationRecord]
    ) -> tuple[NegotiationRecord, Callable[[], Awaitable[None]]]:
        """``work(place)`` (a request from ``peer`` applied in a transaction, which may lease
        the message it makes due to ``place``: :meth:`reserve`) run through the database, and
        what to run once the request is answered (a response's background task): send that
        message, or let a claim take what the negotiation has to send.

        If the caller is cancelled or the work fails, the place is given back, unless the
        transaction committed a lease (cancelled while the work ran on a thread, which the
        database waits for): that message is then sent at once all the same, not left until
        the lease runs out."""
        place = self.reserve(peer)

        def job() -> NegotiationRecord:
            record = work(place)
            if place is not None:
                place.committed = True  # work() returns once its transaction has committed
            return record

        try:
            record = await self._database.run(job)
        except BaseException as exc:
            if place is not None and place.committed and place.leased is not None:
                sending = asyncio.create_task(self.send_reserved(place, place.leased))
                self._detached.add(sending)  # kept until done (the loop holds tasks weakly)
                sending.add_done_callback(self._detached.discard)
            else:
                self.give_back(place)
                if isinstance(exc, asyncio.CancelledError):
                    self.wake()  # the work may have committed intent, without a lease
            raise
        return record, functools.partial(self.send_reserved, place, record)

    def give_back(self, place: SendPlace | None) -> None:
        """The transaction ``place`` was kept for failed, or its message was answered."""
        if place is not None and not place.given_back:
            place.given_back = True
            self._placed -= 1
            self._placed_to_peer[place.peer] -= 1
            if self._placed_to_peer[place.peer] <= 0:
                del self._placed_to_peer[place.peer]

    async def send_reserved(self, place: SendPlace | None, record: NegotiationRecord) -> None:
        """Send the message leased to ``place`` by the committed transaction that stored
        ``record``, wait for the answer and record it; without a lease, if ``record`` has a
        message to send, let a claim take it. Not once the dispatcher is stopping (a server
        shutting down without waiting for its requests): the message is then sent by whichever
        replica claims it when the lease has run out."""
        if place is None or place.leased is None or place.leased_at is None or self._stopping:
            self.give_back(place)
            if record.pending:
                self.wake()
            return
        ended = asyncio.get_running_loop().create_future()
        self._sending_reserved.add(ended)  # run() waits for it before closing the clients
        try:
            await self._dispatch(place.leased, place.leased_at)
        except Exception:  # as a claimed message's failure: logged; the lease runs out
            log.exception("negotiation dispatcher: a message failed")
        finally:
            self.give_back(place)
            self._sending_reserved.discard(ended)
            ended.set_result(None)

    async def aclose(self) -> None:
        """Close the connections to peers (:meth:`run` does on its way out; callers of
        :meth:`dispatch_due` do when they are done)."""
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await client.aclose()

    # One round -----------------------------------------------------------------------------------

    def _claim(self, limit: int, to_peer: Mapping[str, int]) -> Claimed:
        """Lease up to ``limit`` due messages, at most :data:`MAX_PER_PEER` minus ``to_peer``
        (the messages on their way) to each peer, oldest due first: one transaction.

        A pass leases the oldest due messages of the peers that still have room; what a peer
        has no room for is handed back at once (nobody else can see it), and the next pass
        leaves that peer out, so that one peer's backlog never keeps the others' messages from
        being claimed."""
        with self._database.transaction() as session:
            repository = NegotiationRepository(session)
            taken: Counter[str] = Counter(to_peer)
            kept: list[NegotiationRecord] = []
            more = any_handed_back = False
            began = self._clock()
            for attempt in range(CLAIM_PASSES):
                wanted = limit - len(kept)
                full = [peer for peer, count in taken.items() if count >= MAX_PER_PEER]
                leased = repository.claim_due(
                    began if attempt == 0 else self._clock(),
                    wanted,
                    self._holder,
                    self._settings.lease_seconds,
                    skip_counterparties=full,
                )
                handed_back: list[NegotiationRecord] = []
                for record in leased:  # oldest due first
                    peer = record.counterparty_id
                    if taken[peer] < MAX_PER_PEER:
                        taken[peer] += 1
                        kept.append(record)
                    else:
                        handed_back.append(record)
                repository.release(handed_back, self._holder)
                any_handed_back = any_handed_back or bool(handed_back)
                more = len(leased) == wanted  # else nothing more is due for the others
                if not more or len(kept) == limit:
                    break
        return Claimed(kept, more=more, at=began, handed_back=any_handed_back)

    async def dispatch_due(self) -> bool:
        """Send the due messages one claim takes and wait for the outcomes; True when more may
        be due. One round of :meth:`run`, for callers that step."""
        claimed = await self._database.run(self._claim, CLAIM_BATCH, {})
        if claimed.records:
            await asyncio.gather(
                *(self._dispatch(record, claimed.at) for record in claimed.records)
            )
        return claimed.more or claimed.handed_back  # answered: their peers have room again

    async def _dispatch(self, record: NegotiationRecord, leased_at: datetime) -> None:
        elapsed = (self._clock() - leased_at).total_seconds()
        if elapsed + self._settings.timeout_seconds >= self._settings.lease_seconds:
            # Sending now could outlast the lease: another replica may claim the message
            # meanwhile and send it too. It stays leased to us until the lease runs out.
            log.warning(
                "negotiation message left for a later claim: its lease would run out first",
                extra={"negotiation": record.id, "waited_seconds": round(elapsed, 3)},
            )
            return
        if record.intent is None:
            await self._database.run(self._settle, record, None, Sent(False, detail="no intent"))
            return
        kind = Message(record.intent)
        try:
            outcome = await self._send(record, kind)
        except Exception as exc:  # whatever went wrong, the attempt is recorded (and retried)
            log.exception("negotiation message: sending failed", extra={"negotiation": record.id})
            outcome = Sent(False, retry=True, detail=f"sending failed ({type(exc).__name__})")
        if await self._database.run(self._settle, record, kind, outcome):
            self.wake()  # the answer left another message due (e.g. a decision taken meanwhile)

    def _client(self, audience: str) -> httpx.AsyncClient:
        client = self._clients.get(audience)
        if client is None:
            client = CookielessAsyncClient(
                auth=self._identity.auth(audience),
                transport=self._transport or self._peer_transport(),
                trust_env=False,
                follow_redirects=False,
                timeout=self._settings.timeout_seconds,
            )
            self._clients[audience] = client
        return client

    def _peer_transport(self) -> AiohttpTransport:
        return AiohttpTransport(
            max_connections=PEER_CONNECTIONS,
            resolver=PublicAddressResolver(self._security),
            ssl_context=self._ssl_context,
        )

    def _not_now(self, record: NegotiationRecord, kind: Message) -> Sent | None:
        """Why ``kind`` cannot be sent now (the outcome to record instead), or None."""
        if self._identity.tokens is None:
            return Sent(False, unsent=True, detail="this node has no identity to call peers with")
        if their_pid(record) is None and not _first_message(record, kind):
            # A termination decided while our first message was on its way: it waits (with
            # backoff) for that message's answer, which brings the peer's pid; if none ever
            # comes, it ends the negotiation here after the last attempt.
            return Sent(False, retry=True, detail="the answer to our first message is not in")
        return None

    async def _send(self, record: NegotiationRecord, kind: Message) -> Sent:
        not_now = self._not_now(record, kind)
        if not_now is not None:
            return not_now
        try:
            url = await check_outbound_url_async(
                record.counterparty_address + _path(record, kind), self._security
            )
        except OutboundRefused as exc:
            return Sent(False, unsent=True, detail=f"the peer's address is refused: {exc.detail}")
        body = message_body(record, kind, self._callback)
        client = self._client(record.counterparty_id)
        try:
            # One deadline for the whole exchange (token, connection, answer): the lease that
            # keeps other replicas from sending the same message outlives it.
            async with asyncio.timeout(self._settings.timeout_seconds):
                answer = await send(
                    client,
                    client.build_request("POST", url, json=body),
                    max_bytes=MAX_ANSWER_BYTES,
                )
        except TimeoutError:
            return Sent(False, retry=True, detail="the peer did not answer in time")
        except (FetchError, httpx.HTTPError, TokenRequestFailed) as exc:
            return Sent(False, retry=True, detail=f"the peer could not be reached: {exc}")
        if 200 <= answer.status < 300:
            try:
                parsed = answer.json() if answer.body else None
            except FetchError:
                parsed = None
            return Sent(True, answer=parsed, body=body)
        text = answer.body[:300].decode(errors="replace")
        retry = answer.status >= 500 or answer.status in RETRYABLE
        return Sent(False, retry=retry, detail=f"the peer answered HTTP {answer.status}: {text}")

    def _learnt(self, record: NegotiationRecord, outcome: Sent) -> Sent:
        """``outcome`` (the answer to our first message) with the pid the peer gives itself in
        it (a ``ContractNegotiation``), or why there is none to keep: no pid of its own, or an
        answer naming another negotiation of ours than ``record``."""
        consumer = record.role == "consumer"
        pids = self._pids(outcome.answer)
        theirs = pids.get("providerPid" if consumer else "consumerPid")
        ours = pids.get("consumerPid" if consumer else "providerPid")
        own = record.consumer_pid if consumer else record.provider_pid
        if ours is not None and ours != own:
            problem = f"{_answer_to_first(record)} is about another negotiation ({ours!r})"
            return replace(outcome, their_pid=None, pid_problem=problem)
        if theirs is None:
            field = "providerPid" if consumer else "consumerPid"
            problem = f"{_answer_to_first(record)} has no {field}"
            return replace(outcome, their_pid=None, pid_problem=problem)
        return replace(outcome, their_pid=theirs)

    def _pids(self, answer: Any) -> dict[str, str]:
        """``providerPid`` and ``consumerPid`` as ``answer`` gives them (expanded: what its
        context makes of them), those it gives."""
        if not isinstance(answer, dict):
            return {}
        try:
            expanded = self._processor.expand(answer)
        except JsonLdProcessingError:
            return {}
        found: dict[str, str] = {}
        for name in ("providerPid", "consumerPid"):
            for node in expanded:
                for value in node.get(DSPACE + name, []):
                    # an IRI or a literal, as inbound messages take them (DspMessage.literal)
                    pid = value.get("@id", value.get("@value")) if isinstance(value, dict) else None
                    if isinstance(pid, str) and 0 < len(pid) <= MAX_PID_LENGTH:
                        found.setdefault(name, pid)
        return found

    # Recording the outcome ---------------------------------------------------------------------

    def _settle(self, claimed: NegotiationRecord, kind: Message | None, outcome: Sent) -> bool:
        """Record ``outcome``; True when the negotiation then has a message due at once."""
        if kind is not None and _first_message(claimed, kind) and outcome.acknowledged:
            # Read from the answer before the write transaction, which need not wait for it.
            outcome = self._learnt(claimed, outcome)
        # The message to add to the history: ours, acknowledged.
        sent = (
            (kind, outcome.body)
            if kind is not None and outcome.acknowledged and outcome.body is not None
            else None
        )
        first = 0
        if sent is not None and self._database.backend == "postgresql":
            # One statement, unless the negotiation becomes FINALIZED (its agreement is stored).
            updated = self._outcome(claimed, claimed, kind, outcome)
            if updated is not None and updated.state != State.FINALIZED:
                done = self._settle_at_once(claimed, updated, sent)
                if done is not None:
                    return done
                first = 1  # the negotiation moved on, or a value was taken: read it
        for attempt in range(first, first + 5):
            try:
                with self._database.transaction() as session:
                    repository = NegotiationRepository(session)
                    # First as claimed (nothing read): the save then fails as stale if the
                    # negotiation moved on meanwhile, and the next attempt reads it.
                    unchanged = attempt == 0
                    current = (
                        repository.assume(claimed) if unchanged else repository.get(claimed.id)
                    )
                    updated = self._outcome(current, claimed, kind, outcome)
                    if updated is None and unchanged:  # only a save checks the assumption
                        unchanged, current = False, repository.get(claimed.id)
                        updated = self._outcome(current, claimed, kind, outcome)
                    to_record = sent
                    if updated is not None:
                        held: tuple[str, ...] = ()
                        if updated.state == State.FINALIZED and current.state != State.FINALIZED:
                            updated, held = self._kept(session, updated, current)
                        try:
                            saved, to_record = self._save(
                                repository, current, updated, held, to_record, unchanged=unchanged
                            )
                        except AlreadyExists as exc:
                            if their_pid(updated) == their_pid(current):
                                raise
                            # The peer answered our first message with the pid of another of
                            # our negotiations with it: nothing to address it by; ended here.
                            log.error("peer's pid taken", extra={"negotiation": claimed.id})
                            ended = self._terminated(current, f"{_answer_to_first(current)}: {exc}")
                            saved, to_record = self._save(
                                repository, current, ended, (), to_record, unchanged=unchanged
                            )
                        current = saved
                    if to_record is not None:
                        self._record_sent(repository, claimed.id, *to_record, unchanged=unchanged)
                return due_at(current, self._clock())
            except StaleRecord:
                continue
        log.warning("negotiation outcome not recorded (busy)", extra={"negotiation": claimed.id})
        return True  # look again

    def _save(
        self,
        repository: NegotiationRepository,
        current: NegotiationRecord,
        updated: NegotiationRecord,
        held: tuple[str, ...],
        to_record: tuple[Message, Any] | None,
        *,
        unchanged: bool,
    ) -> tuple[NegotiationRecord, tuple[Message, Any] | None]:
        """``updated`` saved over ``current``, with the message ``to_record`` when the
        negotiation is as claimed (``unchanged``: see :meth:`_record_sent`); what is left to
        record."""
        if to_record is not None and unchanged:
            saved = repository.save_recording(
                updated,
                current.version,
                held=held,
                direction="out",
                message_type=DSP_TYPES[to_record[0]],
                body=to_record[1],
                at=self._clock(),
            )
            return saved, None
        return repository.save(updated, current.version, held=held), to_record

    def _settle_at_once(
        self, claimed: NegotiationRecord, updated: NegotiationRecord, sent: tuple[Message, Any]
    ) -> bool | None:
        """The message ``sent`` (acknowledged) recorded and the negotiation saved as ``updated``
        from the version claimed, in one statement that commits by itself (on PostgreSQL
        :meth:`Database.statements`: one round trip instead of four); what :meth:`_settle`
        returns. None if the negotiation moved on since the claim, the save would take a value
        twice, or it cannot be one statement (it would hold a record it refers to): nothing was
        written, and :meth:`_settle`'s transactions read it and say why."""
        kind, body = sent
        try:
            with self._database.statements() as session:
                repository = NegotiationRepository(session)
                repository.assume(claimed)
                current = repository.save_recording_at_once(
                    updated,
                    claimed.version,
                    direction="out",
                    message_type=DSP_TYPES[kind],
                    body=body,
                    at=self._clock(),
                )
        except (StaleRecord, NotFound, IntegrityError):
            return None
        return None if current is None else due_at(current, self._clock())

    def _kept(
        self, session: Connection, updated: NegotiationRecord, current: NegotiationRecord
    ) -> tuple[NegotiationRecord, tuple[str, ...]]:
        """``updated`` (becoming FINALIZED) with its agreement stored; TERMINATED, with the
        reason, if the agreement's id is another negotiation's (the outcome must be recorded:
        an error here would leave the message to be sent again and again). With it, the
        references this transaction holds (``save``'s ``held``: the agreement it stored)."""
        try:
            kept, stored = store_agreement(
                session, updated, participant_id=self._participant_id, now=self._clock()
            )
        except NegotiationProtocolError as exc:
            log.error("agreement not kept", extra={"negotiation": current.id, "reason": str(exc)})
            return self._terminated(current, f"the agreement cannot be kept: {exc}"), ()
        return kept, ("agreement_id",) if stored else ()

    def _record_sent(
        self,
        repository: NegotiationRepository,
        negotiation_id: str,
        kind: Message,
        body: Any,
        *,
        unchanged: bool,
    ) -> None:
        """Add the acknowledged message to the history, unless it is there already (the
        service records it when the peer's next message proved it arrived before this answer
        was recorded; that change is visible to this transaction, which saw the new state).
        ``unchanged``: the negotiation was saved at the version claimed, so nothing else
        recorded anything since the claim."""
        dsp_type = DSP_TYPES[kind]
        if unchanged or not repository.has_message(negotiation_id, "out", dsp_type, body):
            repository.append_message(negotiation_id, "out", dsp_type, body, self._clock())

    def _outcome(
        self,
        current: NegotiationRecord,
        claimed: NegotiationRecord,
        kind: Message | None,
        outcome: Sent,
    ) -> NegotiationRecord | None:
        """The negotiation after ``outcome``; None when there is nothing to write."""
        if kind is None:
            return settled(current)
        if outcome.acknowledged:
            return self._acknowledged(current, claimed, kind, outcome)
        if current.state != claimed.state:
            return None  # the negotiation moved on; the new intent gets its own attempt
        if current.intent != claimed.intent:
            if _first_message(claimed, kind) and not outcome.retry and not outcome.unsent:
                # The peer refused our first message while a termination was decided: it keeps
                # nothing to terminate, and we have no pid to address it by.
                return self._terminated(current, _refused(kind, outcome))
            return None  # the new intent gets its own attempt
        return self._failed(current, kind, outcome)

    def _failed(
        self, current: NegotiationRecord, kind: Message, outcome: Sent
    ) -> NegotiationRecord:
        attempts = current.attempts + 1
        if outcome.retry and attempts < self._settings.max_attempts:
            return self._later(current, attempts, outcome.detail)
        if kind == Message.TERMINATE:  # the peer will not hear it; we stop anyway
            return self._terminated(current, current.error_detail or outcome.detail)
        if outcome.unsent:  # nothing can reach the peer: stop here
            return self._terminated(
                current, f"{kind.value.lower()} could not be sent: {outcome.detail}"
            )
        reason = (
            f"{kind.value.lower()} could not be delivered after {attempts} attempts: "
            f"{outcome.detail}"
            if outcome.retry
            else _refused(kind, outcome)
        )
        log.warning(
            "contract negotiation terminated", extra={"negotiation": current.id, "reason": reason}
        )
        if outcome.retry or _first_message(current, kind):
            # Refused, our first message leaves the peer nothing to terminate (and us no pid to
            # address it by).
            return self._terminated(current, reason)
        # The peer is reachable but refused: tell it we stop, so both sides end TERMINATED.
        now = self._clock()
        return replace(intend(current, Message.TERMINATE, now, reason), updated_at=now)

    def _acknowledged(
        self,
        current: NegotiationRecord,
        claimed: NegotiationRecord,
        kind: Message,
        outcome: Sent,
    ) -> NegotiationRecord | None:
        if current.state != claimed.state:
            # An inbound message moved it meanwhile (the peer's next message proved ours had
            # arrived): what we sent is already part of the state.
            return None
        role: Role = current.role
        state = advance(role, State(claimed.state), kind)
        updated = replace(current, state=state, updated_at=self._clock(), attempts=0)
        if _first_message(current, kind):
            pid = outcome.their_pid
            if pid is None:
                problem = outcome.pid_problem or f"{_answer_to_first(current)} gives no pid"
                return self._terminated(current, problem)
            if role == "consumer":
                updated = replace(updated, provider_pid=pid)
            else:
                updated = replace(updated, consumer_pid=pid)
        still_valid = current.intent is not None and Message(current.intent) in allowed(role, state)
        if current.intent == kind.value or not still_valid:
            updated = settled(updated)
        elif updated.pending:  # a message decided while ours was on its way: it goes now
            updated = replace(updated, next_attempt_at=self._clock())
        return updated

    def _later(self, record: NegotiationRecord, attempts: int, detail: str) -> NegotiationRecord:
        delay = min(
            self._settings.retry_base_seconds * 2 ** (attempts - 1),
            self._settings.retry_max_seconds,
        )
        log.info(
            "negotiation message will be sent again",
            extra={"negotiation": record.id, "attempts": attempts, "detail": detail},
        )
        return replace(
            record,
            attempts=attempts,
            next_attempt_at=self._clock() + timedelta(seconds=delay),
            updated_at=self._clock(),
        )

    def _terminated(self, record: NegotiationRecord, reason: str) -> NegotiationRecord:
        return replace(
            settled(record),
            state=State.TERMINATED,
            error_detail=storable_detail(reason),
            updated_at=self._clock(),
        )
