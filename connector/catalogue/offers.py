"""Catalogue offer ids: which contract definition, asset (and series member) an offer is for.

An offer id is ``urn:etds:offer:<definition>:<asset>[:<member>]``, each part base64url-encoded
(no padding), so that a consumer's contract request names exactly what it accepts and the
provider can find the definition back without keeping state. It is unique per dataset (the DSP
requires it) and stable as long as the definition and the asset exist.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

PREFIX = "urn:etds:offer:"


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(part: str) -> str:
    padded = part + "=" * (-len(part) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not an offer id of this node") from None


@dataclass(frozen=True)
class OfferRef:
    definition_id: str
    asset_id: str
    member: str | None = None

    @property
    def id(self) -> str:
        parts = [self.definition_id, self.asset_id]
        if self.member is not None:
            parts.append(self.member)
        return PREFIX + ":".join(_encode(part) for part in parts)

    @classmethod
    def parse(cls, offer_id: str) -> OfferRef:
        """The reference an offer id stands for; ``ValueError`` if it is not one of ours."""
        if not offer_id.startswith(PREFIX):
            raise ValueError("not an offer id of this node")
        parts = offer_id[len(PREFIX) :].split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError("not an offer id of this node")
        decoded = [_decode(part) for part in parts]
        return cls(decoded[0], decoded[1], decoded[2] if len(decoded) == 3 else None)
