"""The authority's signing keys: which one signs now, which ones the JWKS publishes.

Rotation without a flag day: every configured key is published from the moment the authority
starts with it, so verifiers can learn it before it is used (and ours refetch the JWKS once when
they meet an unknown ``kid`` anyway). A key signs from its ``activate_at`` (always, without one);
when several are active the latest activated signs — the newest. A key leaves the JWKS at its
``retire_at``, which must come after its last token expired (token lifetime ≤ 5 minutes).

    key A (no dates)           ████████ signs ████████░░░ published ░░│ retired
    key B (activate_at = t)    ░░ published ░░│████████ signs from t ████████████

Times are explicit (``now``) so rotations can be tested without waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.identity.authority.settings import SigningKeySettings
from connector.identity.keys import SigningKey, load_signing_key


@dataclass(frozen=True)
class ScheduledKey:
    """A signing key and its place in the rotation."""

    key: SigningKey
    activate_at: datetime | None = None
    retire_at: datetime | None = None

    def published(self, now: datetime) -> bool:
        return self.retire_at is None or now < self.retire_at

    def active(self, now: datetime) -> bool:
        return self.published(now) and (self.activate_at is None or self.activate_at <= now)


class NoActiveKey(RuntimeError):
    """No configured key may sign at this moment (all retired, or none activated yet)."""


class SigningKeys:
    """The configured keys, in configuration order."""

    def __init__(self, keys: Sequence[ScheduledKey]) -> None:
        if not keys:
            raise ValueError("at least one signing key is required")
        kids = [scheduled.key.kid for scheduled in keys]
        if len(set(kids)) != len(kids):
            raise ValueError("the same key is configured twice")
        self._keys = tuple(keys)

    @classmethod
    def load(cls, settings: Sequence[SigningKeySettings]) -> SigningKeys:
        """Read every configured key file (:class:`~connector.identity.keys.InvalidKey` when one
        cannot be used)."""
        return cls(
            [
                ScheduledKey(load_signing_key(item.file), item.activate_at, item.retire_at)
                for item in settings
            ]
        )

    def signing_key(self, now: datetime) -> SigningKey:
        """The newest active key at ``now``; :class:`NoActiveKey` if none is."""
        active = [scheduled for scheduled in self._keys if scheduled.active(now)]
        if not active:
            raise NoActiveKey("no signing key is active now; check activate_at and retire_at")
        newest = max(
            active, key=lambda s: s.activate_at.timestamp() if s.activate_at else float("-inf")
        )
        return newest.key

    def jwks(self, now: datetime) -> dict[str, Any]:
        """The public JWK Set at ``now``: every key not yet retired."""
        return {"keys": [s.key.public_jwk() for s in self._keys if s.published(now)]}

    def algorithms(self) -> list[str]:
        """The algorithms the configured keys sign with (for the metadata)."""
        return sorted({scheduled.key.alg for scheduled in self._keys})
