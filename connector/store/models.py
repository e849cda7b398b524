"""The database schema, as SQLAlchemy 2 declarative tables (``metadata`` is what Alembic compares).

Rules this schema keeps:

* A naming convention on ``metadata`` gives every constraint and index a stable name, so a
  migration can refer to it on both databases.
* Every foreign key column is indexed, and so is every column a state machine polls on
  (``pending``/``next_attempt_at``, ``state``, ``expires_at``).
* Enumerations are short strings guarded by CHECK constraints: portable, and adding a value is a
  plain migration (no PostgreSQL ``ENUM`` type to alter).
* Negotiations and transfer processes have lease columns (``lease_holder``/``lease_expires_at``):
  claiming a due row is one UPDATE of the row itself, without a join or a second table.
* Participant pids: the pid *we* issued is unique per role (a partial unique index); the pid the
  counterparty issued is unique per counterparty, so two peers cannot collide with each other.

ORM classes never leave :mod:`connector.store`; repositories return :mod:`records`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from connector.store.types import JSONDocument, UTCDateTime

ID_LENGTH = 256
PARTICIPANT_LENGTH = 512
ADDRESS_LENGTH = 2048
NAME_LENGTH = 128

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

_ROLE_CHECK = "role IN ('provider', 'consumer')"
_MODE_VALUES = "('auto', 'manual')"
# Column order in CREATE TABLE: shared process columns first, timestamps and version last.
_FIRST = -10
_LAST = 10


class Base(DeclarativeBase):
    metadata = metadata


class _Versioned:
    """Timestamps and the optimistic-lock version shared by mutable records."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, sort_order=_LAST)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, sort_order=_LAST)
    version: Mapped[int] = mapped_column(Integer, sort_order=_LAST)


class Asset(_Versioned, Base):
    __tablename__ = "assets"
    __table_args__ = (CheckConstraint("version >= 1", name="version"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    private_properties: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    data_address: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class PolicyDefinition(_Versioned, Base):
    __tablename__ = "policy_definitions"
    __table_args__ = (CheckConstraint("version >= 1", name="version"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    private_properties: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class ContractDefinition(_Versioned, Base):
    __tablename__ = "contract_definitions"
    __table_args__ = (
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint(f"negotiation_mode IN {_MODE_VALUES}", name="negotiation_mode"),
        CheckConstraint(f"transfer_mode IN {_MODE_VALUES}", name="transfer_mode"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    access_policy_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("policy_definitions.id", ondelete="RESTRICT"), index=True
    )
    contract_policy_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("policy_definitions.id", ondelete="RESTRICT"), index=True
    )
    assets_selector: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    negotiation_mode: Mapped[str] = mapped_column(String(16))
    transfer_mode: Mapped[str] = mapped_column(String(16))
    private_properties: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class ContractAgreement(Base):
    """Immutable once written: no repository method updates or deletes an agreement."""

    __tablename__ = "contract_agreements"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    # Not a foreign key: a consumer stores agreements about the provider's assets.
    asset_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    provider_id: Mapped[str] = mapped_column(String(PARTICIPANT_LENGTH), index=True)
    consumer_id: Mapped[str] = mapped_column(String(PARTICIPANT_LENGTH), index=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Not a foreign key either: negotiations refer to agreements, a cycle would gain nothing.
    negotiation_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The purpose the consumer declared when negotiating (a DPV IRI), for transfer-time checks.
    purpose: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))


class _Process(_Versioned):
    """Columns shared by contract negotiations and transfer processes (both DSP roles)."""

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, sort_order=_FIRST)
    role: Mapped[str] = mapped_column(String(16), sort_order=_FIRST)
    state: Mapped[str] = mapped_column(String(64), index=True, sort_order=_FIRST)
    provider_pid: Mapped[str | None] = mapped_column(String(ID_LENGTH), sort_order=_FIRST)
    consumer_pid: Mapped[str | None] = mapped_column(String(ID_LENGTH), sort_order=_FIRST)
    counterparty_id: Mapped[str] = mapped_column(String(PARTICIPANT_LENGTH), sort_order=_FIRST)
    counterparty_address: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), sort_order=_FIRST)
    protocol: Mapped[str] = mapped_column(String(NAME_LENGTH), sort_order=_FIRST)
    asset_id: Mapped[str] = mapped_column(String(ID_LENGTH), sort_order=_FIRST)
    pending: Mapped[bool] = mapped_column(Boolean, sort_order=_FIRST)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, sort_order=_FIRST)
    attempts: Mapped[int] = mapped_column(Integer, sort_order=_FIRST)
    error_detail: Mapped[str | None] = mapped_column(Text, sort_order=_FIRST)
    lease_holder: Mapped[str | None] = mapped_column(String(ID_LENGTH), sort_order=_FIRST)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, sort_order=_FIRST)


def _process_table_args(table: str) -> tuple[Any, ...]:
    """Constraints and indexes of a process table (``table`` names the partial indexes)."""
    return (
        CheckConstraint(_ROLE_CHECK, name="role"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # The pid first: a lookup by pid finds the row whatever the plan (migration 0006).
        UniqueConstraint("consumer_pid", "role", "counterparty_id"),
        UniqueConstraint("provider_pid", "role", "counterparty_id"),
        Index(
            f"uq_{table}_provider_pid_ours",
            "provider_pid",
            unique=True,
            sqlite_where=text("role = 'provider'"),
            postgresql_where=text("role = 'provider'"),
        ),
        Index(
            f"uq_{table}_consumer_pid_ours",
            "consumer_pid",
            unique=True,
            sqlite_where=text("role = 'consumer'"),
            postgresql_where=text("role = 'consumer'"),
        ),
        Index(None, "pending", "next_attempt_at"),
    )


class ContractNegotiation(_Process, Base):
    __tablename__ = "contract_negotiations"
    __table_args__ = (
        *_process_table_args("contract_negotiations"),
        CheckConstraint("offered_by IN ('provider', 'consumer')", name="offered_by"),
        CheckConstraint("mode IN ('auto', 'manual')", name="mode"),
    )

    contract_definition_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("contract_definitions.id", ondelete="SET NULL"), index=True
    )
    offer: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    offered_by: Mapped[str | None] = mapped_column(String(16))
    agreement_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("contract_agreements.id", ondelete="RESTRICT"), index=True
    )
    # The message waiting to go out (with ``pending``): REQUEST, OFFER, ACCEPT, AGREE, VERIFY,
    # FINALIZE or TERMINATE. ``state`` stays the DSP state both sides agree on until it is sent.
    intent: Mapped[str | None] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16), server_default="auto")
    # The agreement while it is negotiated; stored in contract_agreements once FINALIZED.
    agreement: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    purpose: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))


class NegotiationMessage(Base):
    """Append-only audit trail of the DSP messages of one negotiation."""

    __tablename__ = "negotiation_messages"
    __table_args__ = (CheckConstraint("direction IN ('in', 'out')", name="direction"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    negotiation_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("contract_negotiations.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(3))
    message_type: Mapped[str] = mapped_column(String(NAME_LENGTH))
    body: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class TransferProcess(_Process, Base):
    __tablename__ = "transfer_processes"
    __table_args__ = _process_table_args("transfer_processes")

    agreement_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("contract_agreements.id", ondelete="RESTRICT"), index=True
    )
    format: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    data_address: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)


class UsedToken(Base):
    """Single-use token identifiers (``jti``) seen until they expire, per kind of token."""

    __tablename__ = "used_tokens"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    jti: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Lease(Base):
    """A named, time-limited exclusive right (e.g. "run the negotiation dispatcher")."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    holder: Mapped[str] = mapped_column(String(ID_LENGTH))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CatalogueEntry(Base):
    """What the catalogue knows of an asset beyond its properties, kept for fast filtered pages.

    The searchable columns are derived from the asset's properties when the asset is written
    (``search_text``: normalised titles, descriptions and keywords; ``themes``; ``modified``);
    the data-derived ones (``spatial``, temporal coverage, ``profile``: rows, bytes, checksum,
    columns) by profiling its data, recomputed when the files' ``fingerprint`` changes. Token
    lists are stored space-separated with a leading and trailing space, so that a token (or a
    NUTS prefix) is found with one LIKE on both databases.
    """

    __tablename__ = "catalogue_entries"

    asset_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    search_text: Mapped[str] = mapped_column(Text)
    themes: Mapped[str] = mapped_column(Text)
    spatial: Mapped[str] = mapped_column(Text)
    temporal_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    temporal_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    profiled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    profile_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Participant(_Versioned, Base):
    """A member of the dataspace as the authority knows it (authority database only).

    The participant id is also its OAuth ``client_id``. ``jwks`` holds its *public* keys only
    (a JWK Set; several during a key rotation); private keys never reach a database.
    ``audiences`` lists the resources other than participants (e.g. a node's management URL)
    this client may ask tokens for. ``revoked`` is final; ``suspended`` may be lifted.
    """

    __tablename__ = "participants"
    __table_args__ = (
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("status IN ('active', 'suspended', 'revoked')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(PARTICIPANT_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH * 2))
    status: Mapped[str] = mapped_column(String(16), index=True)
    jwks: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    org_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    nuts: Mapped[list[str]] = mapped_column(JSONDocument)
    membership: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scopes: Mapped[list[str]] = mapped_column(JSONDocument)
    audiences: Mapped[list[str]] = mapped_column(JSONDocument)


class RemoteCatalogue(Base):
    """The last catalogue fetched from a peer connector (for discovery and search)."""

    __tablename__ = "remote_catalogues"

    participant_id: Mapped[str] = mapped_column(String(PARTICIPANT_LENGTH), primary_key=True)
    address: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
