"""stats indexes: the statistics page reads attempts and results from indexes alone (issue 11)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 12:00:00

At 300,000 attempts PostgreSQL answered the per-question aggregate with a parallel sequential
scan of ``attempts`` (the attempt ids of one assessment were not in its index) and read every
result row of the assessment from the heap. Each new index extends the one it replaces (same
leading columns), so every query that used the old one can use the new one.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, new index, its columns, the index it replaces, that index's columns)
CHANGES = (
    (
        "attempts",
        "ix_attempts_assessment_id_status_id",
        ("assessment_id", "status", "id"),
        "ix_attempts_assessment_id_status",
        ("assessment_id", "status"),
    ),
    (
        "results",
        "ix_results_assessment_id_percent_passed",
        ("assessment_id", "percent", "passed"),
        "ix_results_assessment_id",
        ("assessment_id",),
    ),
)


def _swap(table: str, create: str, columns: Sequence[str], drop: str) -> None:
    if op.get_context().dialect.name == "postgresql":
        # CONCURRENTLY keeps the table writable while the index builds (outside a transaction);
        # the new index exists before the old one goes, so no query is ever left without one.
        with op.get_context().autocommit_block():
            op.execute(f"CREATE INDEX CONCURRENTLY {create} ON {table} ({', '.join(columns)})")
            op.execute(f"DROP INDEX CONCURRENTLY {drop}")
    else:
        op.create_index(create, table, list(columns))
        op.drop_index(drop, table_name=table)


def upgrade() -> None:
    for table, new, new_columns, old, _old_columns in CHANGES:
        _swap(table, new, new_columns, old)


def downgrade() -> None:
    for table, new, _new_columns, old, old_columns in reversed(CHANGES):
        _swap(table, old, old_columns, new)
