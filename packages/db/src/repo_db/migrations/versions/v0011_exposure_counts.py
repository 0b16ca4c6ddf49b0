"""exposure counts: a hard maximum exposure rate for adaptive tests (issue 18)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 20:30:00

Two counter tables, ``question_exposure`` (learners a question was served to) and
``adaptive_starts`` (adaptive attempts started per assessment), which the domain's exposure cap
claims with one conditional statement each (``repo_db.exposure``), and two nullable columns on
``attempts`` that persist the question an adaptive attempt was served and why.

The counters start from what happened before: every attempt on an adaptive assessment is a
start, every answer in one is a question served (before 0011 a served question was only stored
once answered). The new columns are nullable without defaults: no table rewrite on PostgreSQL,
plain ADD COLUMN on SQLite (no batch: recreating ``attempts`` with foreign keys on would
cascade-delete its responses).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("attempts", sa.Column("served_question_id", ID, nullable=True))
    op.add_column("attempts", sa.Column("served_reason", sa.String(32), nullable=True))
    op.create_table(
        "question_exposure",
        sa.Column("question_id", ID, nullable=False),
        sa.Column("served", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_question_exposure_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("question_id", name=op.f("pk_question_exposure")),
    )
    op.create_table(
        "adaptive_starts",
        sa.Column("assessment_id", ID, nullable=False),
        sa.Column("started", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_adaptive_starts_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("assessment_id", name=op.f("pk_adaptive_starts")),
    )
    op.execute(
        "INSERT INTO adaptive_starts (assessment_id, started) "
        "SELECT t.assessment_id, count(*) FROM attempts t "
        "JOIN assessments a ON a.id = t.assessment_id WHERE a.adaptive "
        "GROUP BY t.assessment_id"
    )
    op.execute(
        "INSERT INTO question_exposure (question_id, served) "
        "SELECT r.question_id, count(*) FROM responses r "
        "JOIN attempts t ON t.id = r.attempt_id "
        "JOIN assessments a ON a.id = t.assessment_id WHERE a.adaptive "
        "GROUP BY r.question_id"
    )


def downgrade() -> None:
    op.drop_table("adaptive_starts")
    op.drop_table("question_exposure")
    op.drop_column("attempts", "served_reason")
    op.drop_column("attempts", "served_question_id")
