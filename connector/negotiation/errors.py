"""The errors of contract negotiation, as the DSP endpoints and the management API report them."""

from __future__ import annotations

from connector.errors import BadRequest, NotFound


class NegotiationProtocolError(BadRequest):
    """A message that is not valid in the negotiation's state (DSP: 400, state unchanged)."""

    slug = "invalid-transition"


class UnknownNegotiation(NotFound):
    """No negotiation of the caller has this pid (also when it is someone else's)."""
