"""grading sweep index: the AI worker finds attempts left in grading without a scan (issue 19)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 20:30:00

The worker's sweep (every 30 s per worker) asks for the attempts in ``grading`` that have no
job. With no index leading on ``status`` PostgreSQL read every attempt: 111 ms at 300,000
attempts, growing with the table (``benchmarks/capacity.py``, docs/benchmarks.md "Capacity").
A partial index holds only the attempts in grading (a few at any time), so it stays small
and cheap to maintain whatever the table's size.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_attempts_grading_id"
WHERE = "status = 'grading'"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # CONCURRENTLY keeps attempts writable while the index builds (outside a transaction).
        with op.get_context().autocommit_block():
            op.execute(f"CREATE INDEX CONCURRENTLY {INDEX} ON attempts (id) WHERE {WHERE}")
    else:
        op.create_index(INDEX, "attempts", ["id"], sqlite_where=sa.text(WHERE))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute(f"DROP INDEX CONCURRENTLY {INDEX}")
    else:
        op.drop_index(INDEX, table_name="attempts")
