"""integrity: one attempt in progress per learner, attempt limits, answer visibility (issue 10)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_PROGRESS = sa.text("status = 'in_progress'")


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch): recreating `assessments` on SQLite with foreign keys on would
    # cascade-delete its questions and attempts.
    op.add_column("assessments", sa.Column("max_attempts", sa.Integer(), nullable=True))
    op.add_column(
        "assessments",
        sa.Column(
            "show_answers",
            sa.String(length=24),
            server_default="after_last_attempt",
            nullable=False,
        ),
    )
    op.add_column("assessments", sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True))
    # Existing duplicates (the race this index closes) would block it: keep the newest attempt
    # in progress and close the older ones as finished without a result (history shows them
    # unscored), which is what an abandoned duplicate is.
    op.execute(
        """
        UPDATE attempts SET status = 'graded', submitted_at = started_at
        WHERE status = 'in_progress' AND id NOT IN (
            SELECT max_id FROM (
                SELECT MAX(id) AS max_id FROM attempts WHERE status = 'in_progress'
                GROUP BY user_id, assessment_id
            ) AS newest
        )
        """
    )
    if op.get_context().dialect.name == "postgresql":
        # CONCURRENTLY: a live database keeps taking writes to `attempts` while the index builds
        # (it cannot run inside a transaction, hence the autocommit block).
        with op.get_context().autocommit_block():
            _create_one_in_progress_index(postgresql_concurrently=True)
    else:
        _create_one_in_progress_index()


def _create_one_in_progress_index(*, postgresql_concurrently: bool = False) -> None:
    op.create_index(
        "uq_attempts_one_in_progress",
        "attempts",
        ["user_id", "assessment_id"],
        unique=True,
        postgresql_where=IN_PROGRESS,
        sqlite_where=IN_PROGRESS,
        postgresql_concurrently=postgresql_concurrently,
    )


def downgrade() -> None:
    op.drop_index("uq_attempts_one_in_progress", table_name="attempts")
    # Native DROP COLUMN (SQLite >= 3.35), again no table rebuild.
    op.drop_column("assessments", "closes_at")
    op.drop_column("assessments", "show_answers")
    op.drop_column("assessments", "max_attempts")
