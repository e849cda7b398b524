"""Catalogue entries: searchable and data-derived metadata of each asset.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "catalogue_entries",
        sa.Column("asset_id", sa.String(256), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("themes", sa.Text(), nullable=False),
        sa.Column("spatial", sa.Text(), nullable=False),
        sa.Column("temporal_start", _timestamp(), nullable=True),
        sa.Column("temporal_end", _timestamp(), nullable=True),
        sa.Column("modified", _timestamp(), nullable=False),
        sa.Column("profile", _json(), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("profiled_at", _timestamp(), nullable=True),
        sa.Column("profile_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name="fk_catalogue_entries_asset_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", name="pk_catalogue_entries"),
    )
    op.create_index("ix_catalogue_entries_modified", "catalogue_entries", ["modified"])


def downgrade() -> None:
    op.drop_table("catalogue_entries")
