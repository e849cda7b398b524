"""Contract negotiation: the message waiting to go out, the mode, the agreement in flight, the
declared purpose (also kept with the agreement).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("contract_negotiations") as table:
        table.add_column(sa.Column("intent", sa.String(32), nullable=True))
        table.add_column(sa.Column("mode", sa.String(16), nullable=False, server_default="auto"))
        table.add_column(sa.Column("agreement", JSON, nullable=True))
        table.add_column(sa.Column("purpose", sa.String(2048), nullable=True))
        table.create_check_constraint(
            op.f("ck_contract_negotiations_mode"), "mode IN ('auto', 'manual')"
        )
    with op.batch_alter_table("contract_agreements") as table:
        table.add_column(sa.Column("purpose", sa.String(2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contract_agreements") as table:
        table.drop_column("purpose")
    with op.batch_alter_table("contract_negotiations") as table:
        table.drop_constraint(op.f("ck_contract_negotiations_mode"), type_="check")
        table.drop_column("purpose")
        table.drop_column("agreement")
        table.drop_column("mode")
        table.drop_column("intent")
