"""The FastAPI side of identity: where an application keeps its :class:`NodeIdentity`, and the
dependencies DSP routes declare (one of two on every DSP route).

``create_app`` calls :func:`install_identity` once; a route then takes
``participant: ParticipantDep`` and receives the verified :class:`Participant` — or the request
ends with :class:`~connector.errors.Unauthorized` (generic detail, reason in the log), which the
DSP layer renders as its error message. A route whose message changes a stored process takes
``sender: SenderDep`` instead: the same check, with the DPoP proof's single use left to the
route's own transaction (:class:`~connector.identity.access.PendingUse`); its route class calls
:func:`settle_pending_use` as the request ends, which stores the use on its own when that
transaction did not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from connector.identity.access import PendingUse
from connector.identity.claims import Participant
from connector.identity.service import NodeIdentity


def install_identity(app: FastAPI, identity: NodeIdentity) -> None:
    """Make ``identity`` the application's identity services."""
    app.state.identity = identity


def find_identity(request: Request) -> NodeIdentity | None:
    """The application's identity services, or None when none were installed."""
    identity = getattr(request.app.state, "identity", None)
    return identity if isinstance(identity, NodeIdentity) else None


def identity_of(request: Request) -> NodeIdentity:
    """The application's identity services (a wiring error when none were installed)."""
    identity = find_identity(request)
    if identity is None:
        raise RuntimeError("no NodeIdentity installed on this application (install_identity)")
    return identity


async def require_participant(request: Request) -> Participant:
    """The participant a protocol request comes from, from its verified token only."""
    return await identity_of(request).participant(request)


ParticipantDep = Annotated[Participant, Depends(require_participant)]


@dataclass(frozen=True)
class Sender:
    """Who sent a protocol message (from its verified token), and its proof's use, which the
    route remembers in the transaction that applies the message."""

    participant: Participant
    proof: PendingUse


SETTLES_PENDING_USE = "settles_pending_use"
"""Set on ``request.state`` by a route class that calls :func:`settle_pending_use`."""


async def require_sender(request: Request) -> Sender:
    """The sender of a protocol message; only on routes whose route class calls
    :func:`settle_pending_use` as the request ends (a wiring error otherwise: the proof's use
    would never be stored)."""
    if not getattr(request.state, SETTLES_PENDING_USE, False):
        raise RuntimeError("SenderDep on a route whose route class does not settle proof uses")
    participant, proof = await identity_of(request).sender(request)
    request.state.pending_use = proof
    return Sender(participant, proof)


async def settle_pending_use(request: Request) -> None:
    """Store the use of the request's proof on its own if its handler did not in its
    transaction (it failed, or changed nothing); :class:`~connector.errors.Unauthorized` on a
    replay. Nothing to do for a request without :func:`require_sender`."""
    pending = getattr(request.state, "pending_use", None)
    if isinstance(pending, PendingUse):
        await pending.remember_alone()


SenderDep = Annotated[Sender, Depends(require_sender)]
