"""The transfer formats the node offers; each is a Distribution of every dataset."""

from __future__ import annotations

from dataclasses import dataclass

ARROW_STREAM = "application/vnd.apache.arrow.stream"


@dataclass(frozen=True)
class TransferFormat:
    name: str
    """The DSP ``format`` (``dct:format``) of the distribution and of transfer requests."""
    media_type: str | None
    """What the consumer receives (``None``: negotiated per request)."""


TRANSFER_FORMATS = (
    TransferFormat("ArrowStream-PULL", ARROW_STREAM),
    TransferFormat("ArrowStream-PUSH", ARROW_STREAM),
    TransferFormat("ArrowFlight-PULL", ARROW_STREAM),
    TransferFormat("HttpData-PULL", None),
)
