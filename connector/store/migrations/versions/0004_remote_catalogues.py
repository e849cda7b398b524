"""Remote catalogues: the last catalogue fetched from each peer connector.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "remote_catalogues",
        sa.Column("participant_id", sa.String(512), nullable=False),
        sa.Column("address", sa.String(2048), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("participant_id", name="pk_remote_catalogues"),
    )
    op.create_index("ix_remote_catalogues_fetched_at", "remote_catalogues", ["fetched_at"])


def downgrade() -> None:
    op.drop_table("remote_catalogues")
