"""review groups: near-identical flagged answers share a cluster; group decisions can be undone
(issue 18)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:00:00

``feedback.cluster`` is a new nullable column without a default: PostgreSQL adds it without
rewriting the table. The two new tables start empty, so their keys and indexes lock nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)

# squawk-ignore: require-concurrent-index-creation -- the review tables are created empty above


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("cluster", ID, nullable=True))

    op.create_table(
        "review_decisions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("question_id", ID, nullable=False),
        sa.Column("reviewer_id", ID, nullable=True),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("undone_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_review_decisions_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_review_decisions_reviewer_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decisions")),
    )
    op.create_index(op.f("ix_review_decisions_question_id"), "review_decisions", ["question_id"])
    op.create_index(op.f("ix_review_decisions_reviewer_id"), "review_decisions", ["reviewer_id"])

    op.create_table(
        "review_decision_answers",
        sa.Column("decision_id", ID, nullable=False),
        sa.Column("flagged_feedback_id", ID, nullable=False),
        sa.Column("graded_feedback_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["review_decisions.id"],
            name=op.f("fk_review_decision_answers_decision_id_review_decisions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["flagged_feedback_id"],
            ["feedback.id"],
            name=op.f("fk_review_decision_answers_flagged_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["graded_feedback_id"],
            ["feedback.id"],
            name=op.f("fk_review_decision_answers_graded_feedback_id_feedback"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint(
            "decision_id", "flagged_feedback_id", name=op.f("pk_review_decision_answers")
        ),
    )
    op.create_index(
        op.f("ix_review_decision_answers_flagged_feedback_id"),
        "review_decision_answers",
        ["flagged_feedback_id"],
    )
    op.create_index(
        op.f("ix_review_decision_answers_graded_feedback_id"),
        "review_decision_answers",
        ["graded_feedback_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_review_decision_answers_graded_feedback_id"), table_name="review_decision_answers"
    )
    op.drop_index(
        op.f("ix_review_decision_answers_flagged_feedback_id"),
        table_name="review_decision_answers",
    )
    op.drop_table("review_decision_answers")
    op.drop_index(op.f("ix_review_decisions_reviewer_id"), table_name="review_decisions")
    op.drop_index(op.f("ix_review_decisions_question_id"), table_name="review_decisions")
    op.drop_table("review_decisions")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("cluster")
