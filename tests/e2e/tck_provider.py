"""A stand-in for the provider side of the DSP TCK (dsp-tck ``CN_C`` flows), for e2e tests of a
consumer node.

:class:`TckProvider` is a small ASGI application served by uvicorn on 127.0.0.1 (its own port,
a background thread): the DSP provider endpoints of a registered participant (NODE_C in the
tests), with its own key and real tokens from the dataspace authority. Like the TCK it

* answers a consumer's ``POST /negotiations/request`` with **200** (not 201) and its new
  ``providerPid``, and the other provider endpoints (counter-request, ``ACCEPTED``,
  verification, termination) with 200;
* records every message it receives (checked by the tests: type, pids, schema) and answers 404
  to anything about a negotiation it does not know — kept (:meth:`TckProvider.refused`), since
  for the TCK an unexpected callback is a failure;
* sends offers, agreements, ``FINALIZED`` and terminations to the consumer's callback address
  (``<callbackAddress>/negotiations/{consumerPid}/…``) and reads the consumer's state with
  ``GET <callbackAddress>/negotiations/{consumerPid}``.

Inbound requests are authenticated as a node does it (DPoP-bound token for our participant id,
proof single use): :class:`Received` carries the verified sender.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import uvicorn
from anyio import to_thread
from dataspace_support import Dataspace
from e2e_negotiation_support import DSP_CONTEXT, participant_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connector.errors import Unauthorized
from connector.identity.access import AccessCheck
from connector.identity.jwks import JwksCache
from connector.identity.replay import ReplayGuard
from connector.identity.settings import TrustedIssuer
from connector.identity.verifier import TokenVerifier
from connector.store.database import Database

DSP_BASE = "/dsp"
WAIT_SECONDS = 60
START_SECONDS = 20

T = TypeVar("T")

# Path suffix (after /negotiations/{providerPid}) → the message type the TCK expects there.
INBOUND = {
    "/request": "ContractRequestMessage",
    "/events": "ContractNegotiationEventMessage",
    "/agreement/verification": "ContractAgreementVerificationMessage",
    "/termination": "ContractNegotiationTerminationMessage",
}


@dataclass(frozen=True)
class Received:
    """One message the stand-in accepted."""

    path: str
    dsp_type: str
    body: dict[str, Any]
    sender: str  # the participant id of the verified token
    provider_pid: str


@dataclass(frozen=True)
class Refused:
    """A request the stand-in refused (unknown negotiation, no valid token…)."""

    method: str
    path: str
    status: int
    detail: str
    consumer_pid: str | None = None  # the body's, when it has one


@dataclass
class Negotiation:
    """A negotiation as the stand-in knows it: opened by the consumer's initial request, or by
    the stand-in's initial offer."""

    provider_pid: str
    consumer_pid: str
    callback: str  # the consumer's DSP base
    target: str  # the dataset


@dataclass
class _Log:
    """What arrived, guarded by one condition (the server thread writes, tests read)."""

    condition: threading.Condition = field(default_factory=threading.Condition)
    received: list[Received] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    negotiations: dict[str, Negotiation] = field(default_factory=dict)


class TckProvider:
    """The stand-in; use :func:`serve_tck_provider`."""

    def __init__(
        self,
        dataspace: Dataspace,
        *,
        participant: str,
        consumer: str,
        replay_database: Database,
        port: int,
    ) -> None:
        self.participant = participant
        self.consumer = consumer
        self.root = f"http://127.0.0.1:{port}"
        self.url = self.root + DSP_BASE
        """The DSP base the consumer is given as ``counterPartyAddress``."""
        self._dataspace = dataspace
        self._replay = ReplayGuard(replay_database)
        self._log = _Log()
        self._access: AccessCheck | None = None
        self.before_answering: Callable[[Negotiation], None] | None = None
        """Run (in a worker thread) after an initial request is stored and before it is
        answered — to send a message that overtakes the answer, as the TCK may."""

    # The ASGI application ----------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(DSP_BASE + "/negotiations/request", self._initial, methods=["POST"]),
                Route(
                    DSP_BASE + "/negotiations/{pid}/{suffix:path}", self._inbound, methods=["POST"]
                ),
            ],
            lifespan=self._lifespan,
        )

    @asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
            verifier = TokenVerifier(
                [TrustedIssuer(issuer=self._dataspace.issuer)],
                JwksCache(http, ttl=300, min_refetch=0, max_bytes=1 << 20),
                leeway=30,
                max_age=3600,
            )
            self._access = AccessCheck(
                verifier,
                self._replay,
                public_url=self.root,
                accept_bearer=False,
                dpop_max_age=300,
                leeway=30,
            )
            yield

    async def _sender(self, request: Request) -> str:
        assert self._access is not None, "the stand-in is not started"
        verified = await self._access.request(request, audience=self.participant, use="protocol")
        return str(verified.mapped["sub"])

    def _refuse(self, request: Request, status: int, detail: str, body: Any = None) -> Response:
        pid = body.get("consumerPid") if isinstance(body, dict) else None
        refused = Refused(
            request.method, request.url.path, status, detail, pid if isinstance(pid, str) else None
        )
        with self._log.condition:
            self._log.refused.append(refused)
            self._log.condition.notify_all()
        return JSONResponse({"detail": detail}, status_code=status)

    async def _read(self, request: Request) -> tuple[str, dict[str, Any]] | Response:
        try:
            sender = await self._sender(request)
        except Unauthorized as exc:
            return self._refuse(request, 401, exc.log_detail or "unauthorized")
        try:
            body = await request.json()
        except ValueError:
            return self._refuse(request, 400, "the body is not JSON")
        if not isinstance(body, dict):
            return self._refuse(request, 400, "the body is not a JSON object", body)
        return sender, body

    def _record(self, received: Received) -> None:
        with self._log.condition:
            self._log.received.append(received)
            self._log.condition.notify_all()

    async def _initial(self, request: Request) -> Response:
        hook = self.before_answering
        read = await self._read(request)
        if isinstance(read, Response):
            return read
        sender, body = read
        if body.get("@type") != "ContractRequestMessage":
            return self._refuse(request, 400, "/negotiations/request takes a request", body)
        consumer_pid = body.get("consumerPid")
        callback = body.get("callbackAddress")
        if not isinstance(consumer_pid, str) or not isinstance(callback, str):
            return self._refuse(request, 400, "consumerPid and callbackAddress are required", body)
        offer = body.get("offer")
        target = offer.get("target") if isinstance(offer, dict) else None
        if not isinstance(target, str):
            return self._refuse(request, 400, "the offer needs a target", body)
        negotiation = Negotiation(
            f"urn:uuid:{uuid.uuid4()}", consumer_pid, callback.rstrip("/"), target
        )
        with self._log.condition:
            self._log.negotiations[negotiation.provider_pid] = negotiation
        pid = negotiation.provider_pid
        self._record(Received(request.url.path, str(body.get("@type")), body, sender, pid))
        if hook is not None:
            await to_thread.run_sync(hook, negotiation)
        return JSONResponse(self._negotiation_body(negotiation, "REQUESTED"), status_code=200)

    async def _inbound(self, request: Request) -> Response:
        pid = request.path_params["pid"]
        suffix = "/" + request.path_params["suffix"].rstrip("/")
        read = await self._read(request)
        if isinstance(read, Response):
            return read
        sender, body = read
        if suffix not in INBOUND:
            return self._refuse(request, 404, f"no endpoint {suffix}", body)
        if body.get("@type") != INBOUND[suffix]:
            return self._refuse(request, 400, f"{suffix} takes a {INBOUND[suffix]}", body)
        with self._log.condition:
            negotiation = self._log.negotiations.get(pid)
        if negotiation is None:
            return self._refuse(request, 404, f"unknown negotiation {pid!r}", body)
        self._record(Received(request.url.path, str(body.get("@type")), body, sender, pid))
        if suffix == "/request":  # a counter-request is answered with the negotiation
            return JSONResponse(self._negotiation_body(negotiation, "REQUESTED"))
        return Response(status_code=200)

    @staticmethod
    def _negotiation_body(negotiation: Negotiation, state: str) -> dict[str, Any]:
        return {
            "@context": [DSP_CONTEXT],
            "@type": "ContractNegotiation",
            "providerPid": negotiation.provider_pid,
            "consumerPid": negotiation.consumer_pid,
            "state": state,
        }

    # What the tests read -----------------------------------------------------------------------

    @staticmethod
    def path(endpoint: str) -> str:
        """The request path of ``endpoint`` (relative to the stand-in's DSP base)."""
        return DSP_BASE + endpoint

    def refused(self, consumer_pid: str) -> list[Refused]:
        """What the stand-in refused of negotiation ``consumer_pid`` (and what it could not
        attribute to any)."""
        with self._log.condition:
            return self._refused(consumer_pid)

    def _refused(self, consumer_pid: str) -> list[Refused]:
        return [r for r in self._log.refused if r.consumer_pid in (None, consumer_pid)]

    def received(self, provider_pid: str | None = None) -> list[Received]:
        """Every message accepted (about ``provider_pid`` only, when given), in order."""
        with self._log.condition:
            return [
                r
                for r in self._log.received
                if provider_pid is None or r.provider_pid == provider_pid
            ]

    def _wait(self, probe: Callable[[], T | None], what: str, consumer_pid: str) -> T:
        """``probe()``'s first value that is not None, re-probed whenever something arrives.
        Fails at once when the stand-in refused a request of negotiation ``consumer_pid`` (for
        the TCK an unexpected callback is a failure), and after a generous deadline."""
        deadline = time.monotonic() + WAIT_SECONDS
        with self._log.condition:
            while True:
                refused = self._refused(consumer_pid)
                assert not refused, f"the stand-in refused: {refused}"
                found = probe()
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{what} never arrived; received: {self._log.received}"
                self._log.condition.wait(remaining)

    def message(self, provider_pid: str, index: int) -> Received:
        """The ``index``-th message (from 0) received about ``provider_pid`` (waits for it)."""

        def probe() -> Received | None:
            about = [r for r in self._log.received if r.provider_pid == provider_pid]
            return about[index] if len(about) > index else None

        with self._log.condition:
            consumer_pid = self._log.negotiations[provider_pid].consumer_pid
        return self._wait(probe, f"message {index} about {provider_pid}", consumer_pid)

    def negotiation_of(self, consumer_pid: str) -> Negotiation:
        """The negotiation the consumer's request ``consumer_pid`` opened (waits for it)."""

        def probe() -> Negotiation | None:
            return next(
                (n for n in self._log.negotiations.values() if n.consumer_pid == consumer_pid),
                None,
            )

        return self._wait(probe, f"the request of {consumer_pid}", consumer_pid)

    # What the stand-in sends -------------------------------------------------------------------

    @contextmanager
    def _client(self, negotiation: Negotiation) -> Iterator[httpx.Client]:
        with participant_client(
            self._dataspace,
            self.participant,
            base_url=negotiation.callback,
            audience=self.consumer,
        ) as client:
            yield client

    def send(self, negotiation: Negotiation, suffix: str, body: dict[str, Any]) -> httpx.Response:
        """POST ``body`` to ``<callback>/negotiations/{consumerPid}<suffix>``."""
        with self._client(negotiation) as client:
            return client.post(f"/negotiations/{negotiation.consumer_pid}{suffix}", json=body)

    def state(self, negotiation: Negotiation) -> httpx.Response:
        """The TCK's ``GET <callback>/negotiations/{consumerPid}``."""
        with self._client(negotiation) as client:
            return client.get(f"/negotiations/{negotiation.consumer_pid}")

    def _message(self, negotiation: Negotiation, dsp_type: str, **extra: Any) -> dict[str, Any]:
        """A message of ``negotiation`` with the extras TCK messages carry (a top-level
        ``@id``)."""
        return {
            "@context": [DSP_CONTEXT],
            "@type": dsp_type,
            "@id": f"urn:uuid:{uuid.uuid4()}",
            "providerPid": negotiation.provider_pid,
            "consumerPid": negotiation.consumer_pid,
            **extra,
        }

    def _offer(self, target: str, permission: list[dict[str, Any]], offer_id: str | None) -> Any:
        return {
            "@type": "Offer",
            "@id": offer_id or f"urn:uuid:{uuid.uuid4()}",
            "target": target,
            "assigner": self.participant,
            "assignee": self.consumer,
            "permission": permission,
        }

    def offer(
        self,
        negotiation: Negotiation,
        permission: list[dict[str, Any]],
        *,
        offer_id: str | None = None,
    ) -> httpx.Response:
        """A ContractOfferMessage (a counter-offer: with the consumerPid)."""
        offer = self._offer(negotiation.target, permission, offer_id)
        return self.send(
            negotiation, "/offers", self._message(negotiation, "ContractOfferMessage", offer=offer)
        )

    def open_with_offer(
        self, consumer_base: str, target: str, permission: list[dict[str, Any]]
    ) -> tuple[httpx.Response, Negotiation | None]:
        """The provider starts: an initial ContractOfferMessage to ``<consumer_base>/
        negotiations/offers`` (our DSP base as ``callbackAddress``); the answer, and the new
        negotiation when the consumer acknowledged it with its consumerPid."""
        provider_pid = f"urn:uuid:{uuid.uuid4()}"
        body = {
            "@context": [DSP_CONTEXT],
            "@type": "ContractOfferMessage",
            "providerPid": provider_pid,
            "callbackAddress": self.url,
            "offer": self._offer(target, permission, None),
        }
        with participant_client(
            self._dataspace, self.participant, base_url=consumer_base, audience=self.consumer
        ) as client:
            response = client.post("/negotiations/offers", json=body)
        answer = response.json() if response.status_code == 201 else {}
        consumer_pid = answer.get("consumerPid") if isinstance(answer, dict) else None
        if not isinstance(consumer_pid, str):
            return response, None
        negotiation = Negotiation(provider_pid, consumer_pid, consumer_base.rstrip("/"), target)
        with self._log.condition:
            self._log.negotiations[provider_pid] = negotiation
        return response, negotiation

    def agreement(
        self, negotiation: Negotiation, permission: list[dict[str, Any]]
    ) -> httpx.Response:
        """A ContractAgreementMessage between the stand-in (assigner) and the consumer (with
        the ``callbackAddress`` extra of the TCK's agreements)."""
        agreement = {
            "@type": "Agreement",
            "@id": f"urn:uuid:{uuid.uuid4()}",
            "target": negotiation.target,
            "assigner": self.participant,
            "assignee": self.consumer,
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "permission": permission,
        }
        return self.send(
            negotiation,
            "/agreement",
            self._message(
                negotiation,
                "ContractAgreementMessage",
                agreement=agreement,
                callbackAddress=self.url,
            ),
        )

    def finalized(self, negotiation: Negotiation) -> httpx.Response:
        return self.send(
            negotiation,
            "/events",
            self._message(negotiation, "ContractNegotiationEventMessage", eventType="FINALIZED"),
        )

    def terminate(self, negotiation: Negotiation, reason: str) -> httpx.Response:
        return self.send(
            negotiation,
            "/termination",
            self._message(
                negotiation, "ContractNegotiationTerminationMessage", code="1", reason=[reason]
            ),
        )


@contextmanager
def serve_tck_provider(
    dataspace: Dataspace, *, participant: str, consumer: str, replay_database: Database
) -> Iterator[TckProvider]:
    """A running :class:`TckProvider` acting as ``participant`` towards the consumer node of
    ``consumer``; stopped (and its thread joined) when the block ends. ``replay_database`` is a
    migrated database for the single use of DPoP proofs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    provider = TckProvider(
        dataspace,
        participant=participant,
        consumer=consumer,
        replay_database=replay_database,
        port=port,
    )
    config = uvicorn.Config(
        provider.app(),
        log_level="warning",
        lifespan="on",
        ws="none",
        http="h11",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="tck-provider", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_SECONDS
        while not server.started:
            assert thread.is_alive(), "the TCK provider stand-in did not start"
            assert time.monotonic() < deadline, "the TCK provider stand-in did not start in time"
            time.sleep(0.02)
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=START_SECONDS)
        sock.close()
