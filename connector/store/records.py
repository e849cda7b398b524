"""The plain, frozen records repositories take and return (ORM objects never leave the store).

Records carry their own timestamps: the caller stamps ``created_at``/``updated_at`` (usually with
the current time), so nothing in the store reads a hidden clock. ``version`` is the optimistic-lock
counter: the store writes 1 on creation and adds 1 on every update, whatever the record says.
Datetimes are aware and in UTC when they come back from the store.

JSON fields hold JSON-compatible values only (``dict``/``list``/``str``/numbers/``bool``/``None``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Role = Literal["provider", "consumer"]
Mode = Literal["auto", "manual"]
Direction = Literal["in", "out"]

JsonObject = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class AssetRecord:
    """Data the node offers: public ``properties`` (full IRI → JSON value), hidden
    ``private_properties``, and where the data lives (``data_address``)."""

    id: str
    properties: JsonObject
    private_properties: JsonObject = field(default_factory=dict)
    data_address: JsonObject
    created_at: datetime
    updated_at: datetime
    version: int = 0


@dataclass(frozen=True, kw_only=True)
class PolicyDefinitionRecord:
    """An ODRL policy (its JSON-LD document) under a local id."""

    id: str
    policy: JsonObject
    private_properties: JsonObject = field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    version: int = 0


@dataclass(frozen=True, kw_only=True)
class ContractDefinitionRecord:
    """Which assets (``assets_selector``: criteria dicts) are offered under which policies."""

    id: str
    access_policy_id: str
    contract_policy_id: str
    assets_selector: list[JsonObject] = field(default_factory=list)
    negotiation_mode: Mode = "auto"
    transfer_mode: Mode = "auto"
    private_properties: JsonObject = field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    version: int = 0


@dataclass(frozen=True, kw_only=True)
class AgreementRecord:
    """A signed contract agreement; immutable once stored."""

    id: str
    asset_id: str
    provider_id: str
    consumer_id: str
    policy: JsonObject
    signed_at: datetime
    negotiation_id: str | None = None
    created_at: datetime
    purpose: str | None = None


@dataclass(frozen=True, kw_only=True)
class NegotiationRecord:
    """A contract negotiation, seen from our ``role``.

    ``pending`` means an outbound message is persisted as intent and waits to be sent (EDC's
    "-ING" states): a dispatcher claims due rows with ``claim_due`` and sends them.
    """

    id: str
    role: Role
    state: str
    counterparty_id: str
    counterparty_address: str
    protocol: str
    asset_id: str
    provider_pid: str | None = None
    consumer_pid: str | None = None
    contract_definition_id: str | None = None
    offer: JsonObject | None = None
    offered_by: Role | None = None
    agreement_id: str | None = None
    pending: bool = False
    next_attempt_at: datetime | None = None
    attempts: int = 0
    error_detail: str | None = None
    intent: str | None = None
    mode: Mode = "auto"
    agreement: JsonObject | None = None
    purpose: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 0


@dataclass(frozen=True, kw_only=True)
class NegotiationMessageRecord:
    """One DSP message of a negotiation, as received (``in``) or sent (``out``)."""

    id: int
    negotiation_id: str
    direction: Direction
    message_type: str
    body: JsonObject
    at: datetime


@dataclass(frozen=True, kw_only=True)
class TransferRecord:
    """A transfer process, seen from our ``role``; same intent discipline as negotiations.

    ``data_address`` is the push destination or the endpoint reference received, never a secret
    of ours.
    """

    id: str
    role: Role
    state: str
    counterparty_id: str
    counterparty_address: str
    protocol: str
    agreement_id: str
    asset_id: str
    provider_pid: str | None = None
    consumer_pid: str | None = None
    format: str | None = None
    data_address: JsonObject | None = None
    pending: bool = False
    next_attempt_at: datetime | None = None
    attempts: int = 0
    error_detail: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 0


@dataclass(frozen=True, kw_only=True)
class LeaseRecord:
    """Who holds the lease ``name`` and until when."""

    name: str
    holder: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class CatalogueEntryRecord:
    """Searchable and data-derived metadata of one asset (see ``models.CatalogueEntry``).

    ``themes`` and ``spatial`` are tuples here (the table stores them space-separated).
    """

    asset_id: str
    search_text: str
    themes: tuple[str, ...]
    spatial: tuple[str, ...]
    temporal_start: datetime | None
    temporal_end: datetime | None
    modified: datetime
    profile: JsonObject | None
    fingerprint: str | None
    profiled_at: datetime | None
    profile_error: str | None


@dataclass(frozen=True, kw_only=True)
class RemoteCatalogueRecord:
    """A peer's catalogue as last fetched (the DSP document, all pages merged)."""

    participant_id: str
    address: str
    fetched_at: datetime
    document: JsonObject
