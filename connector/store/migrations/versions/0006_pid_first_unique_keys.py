"""Process tables: the unique keys (role, counterparty, pid) lead with the pid.

Every lookup of a process by a pid (a message's path, a repeated request, an answer naming the
peer's pid) gives the pid, the role and the counterparty. With the role and the counterparty
first, a plan made without the table's statistics (a new node, before autovacuum analyses the
table; PostgreSQL keeps a prepared statement's generic plan) may match only those two columns
and read every process with that counterparty: the lookup grows with the negotiations. With
the pid first, any plan that uses the key finds the row at once. The keys are the same sets of
columns: what is unique does not change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("contract_negotiations", "transfer_processes")
PIDS = ("consumer_pid", "provider_pid")


def _replace(table_name: str, old: list[str], new: list[str]) -> None:
    with op.batch_alter_table(table_name) as table:
        for pid in PIDS:
            old_columns = [pid if column == "pid" else column for column in old]
            new_columns = [pid if column == "pid" else column for column in new]
            table.create_unique_constraint(f"uq_{table_name}_{'_'.join(new_columns)}", new_columns)
            table.drop_constraint(f"uq_{table_name}_{'_'.join(old_columns)}", type_="unique")


def upgrade() -> None:
    for table_name in TABLES:
        _replace(table_name, ["role", "counterparty_id", "pid"], ["pid", "role", "counterparty_id"])


def downgrade() -> None:
    for table_name in TABLES:
        _replace(table_name, ["pid", "role", "counterparty_id"], ["role", "counterparty_id", "pid"])
