"""Initial schema: assets, policies, contract definitions, negotiations, agreements, transfers,
used tokens and leases.

Revision ID: 0001
Revises:
Create Date: 2026-05-20

Written from the models and reviewed by hand. Types are spelled out with plain SQLAlchemy types
(not the application's TypeDecorators) so that this file keeps producing the same schema whatever
later code does. Tables are created parents first and dropped children first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 256
PARTICIPANT = 512
ADDRESS = 2048
NAME = 128


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _versioned_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def _process_columns() -> list[sa.Column[object]]:
    """Columns shared by contract_negotiations and transfer_processes, in table order."""
    return [
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("provider_pid", sa.String(ID), nullable=True),
        sa.Column("consumer_pid", sa.String(ID), nullable=True),
        sa.Column("counterparty_id", sa.String(PARTICIPANT), nullable=False),
        sa.Column("counterparty_address", sa.String(ADDRESS), nullable=False),
        sa.Column("protocol", sa.String(NAME), nullable=False),
        sa.Column("asset_id", sa.String(ID), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at", _timestamp(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("lease_holder", sa.String(ID), nullable=True),
        sa.Column("lease_expires_at", _timestamp(), nullable=True),
    ]


def _process_constraints(table: str) -> list[sa.Constraint]:
    return [
        sa.CheckConstraint("role IN ('provider', 'consumer')", name=f"ck_{table}_role"),
        sa.CheckConstraint("version >= 1", name=f"ck_{table}_version"),
        sa.CheckConstraint("attempts >= 0", name=f"ck_{table}_attempts"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint(
            "role",
            "counterparty_id",
            "consumer_pid",
            name=f"uq_{table}_role_counterparty_id_consumer_pid",
        ),
        sa.UniqueConstraint(
            "role",
            "counterparty_id",
            "provider_pid",
            name=f"uq_{table}_role_counterparty_id_provider_pid",
        ),
    ]


def _process_indexes(table: str) -> None:
    op.create_index(f"ix_{table}_state", table, ["state"])
    op.create_index(f"ix_{table}_pending_next_attempt_at", table, ["pending", "next_attempt_at"])
    for pid, role in (("provider_pid", "provider"), ("consumer_pid", "consumer")):
        where = sa.text(f"role = '{role}'")
        op.create_index(
            f"uq_{table}_{pid}_ours",
            table,
            [pid],
            unique=True,
            sqlite_where=where,
            postgresql_where=where,
        )


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("properties", _json(), nullable=False),
        sa.Column("private_properties", _json(), nullable=False),
        sa.Column("data_address", _json(), nullable=False),
        *_versioned_columns(),
        sa.CheckConstraint("version >= 1", name="ck_assets_version"),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
    )

    op.create_table(
        "policy_definitions",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("policy", _json(), nullable=False),
        sa.Column("private_properties", _json(), nullable=False),
        *_versioned_columns(),
        sa.CheckConstraint("version >= 1", name="ck_policy_definitions_version"),
        sa.PrimaryKeyConstraint("id", name="pk_policy_definitions"),
    )

    op.create_table(
        "contract_definitions",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("access_policy_id", sa.String(ID), nullable=False),
        sa.Column("contract_policy_id", sa.String(ID), nullable=False),
        sa.Column("assets_selector", _json(), nullable=False),
        sa.Column("negotiation_mode", sa.String(16), nullable=False),
        sa.Column("transfer_mode", sa.String(16), nullable=False),
        sa.Column("private_properties", _json(), nullable=False),
        *_versioned_columns(),
        sa.CheckConstraint("version >= 1", name="ck_contract_definitions_version"),
        sa.CheckConstraint(
            "negotiation_mode IN ('auto', 'manual')",
            name="ck_contract_definitions_negotiation_mode",
        ),
        sa.CheckConstraint(
            "transfer_mode IN ('auto', 'manual')", name="ck_contract_definitions_transfer_mode"
        ),
        sa.ForeignKeyConstraint(
            ["access_policy_id"],
            ["policy_definitions.id"],
            name="fk_contract_definitions_access_policy_id",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["contract_policy_id"],
            ["policy_definitions.id"],
            name="fk_contract_definitions_contract_policy_id",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contract_definitions"),
    )
    op.create_index(
        "ix_contract_definitions_access_policy_id", "contract_definitions", ["access_policy_id"]
    )
    op.create_index(
        "ix_contract_definitions_contract_policy_id",
        "contract_definitions",
        ["contract_policy_id"],
    )

    op.create_table(
        "contract_agreements",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("asset_id", sa.String(ID), nullable=False),
        sa.Column("provider_id", sa.String(PARTICIPANT), nullable=False),
        sa.Column("consumer_id", sa.String(PARTICIPANT), nullable=False),
        sa.Column("policy", _json(), nullable=False),
        sa.Column("signed_at", _timestamp(), nullable=False),
        sa.Column("negotiation_id", sa.String(ID), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contract_agreements"),
    )
    for column in ("asset_id", "provider_id", "consumer_id", "negotiation_id"):
        op.create_index(f"ix_contract_agreements_{column}", "contract_agreements", [column])

    op.create_table(
        "contract_negotiations",
        *_process_columns(),
        sa.Column("contract_definition_id", sa.String(ID), nullable=True),
        sa.Column("offer", _json(), nullable=True),
        sa.Column("offered_by", sa.String(16), nullable=True),
        sa.Column("agreement_id", sa.String(ID), nullable=True),
        *_versioned_columns(),
        *_process_constraints("contract_negotiations"),
        sa.CheckConstraint(
            "offered_by IN ('provider', 'consumer')", name="ck_contract_negotiations_offered_by"
        ),
        sa.ForeignKeyConstraint(
            ["contract_definition_id"],
            ["contract_definitions.id"],
            name="fk_contract_negotiations_contract_definition_id",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["contract_agreements.id"],
            name="fk_contract_negotiations_agreement_id",
            ondelete="RESTRICT",
        ),
    )
    _process_indexes("contract_negotiations")
    op.create_index(
        "ix_contract_negotiations_contract_definition_id",
        "contract_negotiations",
        ["contract_definition_id"],
    )
    op.create_index(
        "ix_contract_negotiations_agreement_id", "contract_negotiations", ["agreement_id"]
    )

    op.create_table(
        "negotiation_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("negotiation_id", sa.String(ID), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("message_type", sa.String(NAME), nullable=False),
        sa.Column("body", _json(), nullable=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name="ck_negotiation_messages_direction"),
        sa.ForeignKeyConstraint(
            ["negotiation_id"],
            ["contract_negotiations.id"],
            name="fk_negotiation_messages_negotiation_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_negotiation_messages"),
    )
    op.create_index(
        "ix_negotiation_messages_negotiation_id", "negotiation_messages", ["negotiation_id"]
    )

    op.create_table(
        "transfer_processes",
        *_process_columns(),
        sa.Column("agreement_id", sa.String(ID), nullable=False),
        sa.Column("format", sa.String(NAME), nullable=True),
        sa.Column("data_address", _json(), nullable=True),
        *_versioned_columns(),
        *_process_constraints("transfer_processes"),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["contract_agreements.id"],
            name="fk_transfer_processes_agreement_id",
            ondelete="RESTRICT",
        ),
    )
    _process_indexes("transfer_processes")
    op.create_index("ix_transfer_processes_agreement_id", "transfer_processes", ["agreement_id"])

    op.create_table(
        "used_tokens",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("jti", sa.String(ID), nullable=False),
        sa.Column("expires_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "jti", name="pk_used_tokens"),
    )
    op.create_index("ix_used_tokens_expires_at", "used_tokens", ["expires_at"])

    op.create_table(
        "leases",
        sa.Column("name", sa.String(ID), nullable=False),
        sa.Column("holder", sa.String(ID), nullable=False),
        sa.Column("expires_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints on both databases.
    for table in (
        "leases",
        "used_tokens",
        "transfer_processes",
        "negotiation_messages",
        "contract_negotiations",
        "contract_agreements",
        "contract_definitions",
        "policy_definitions",
        "assets",
    ):
        op.drop_table(table)
