"""ai: item parameters, ability estimates, feedback

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "item_parameters",
        sa.Column("question_id", ID, nullable=False),
        sa.Column("model", sa.String(length=16), nullable=False),
        sa.Column("difficulty", sa.Float(), nullable=False),
        sa.Column("discrimination", sa.Float(), nullable=False),
        sa.Column("guessing", sa.Float(), nullable=False),
        sa.Column("n_responses", sa.Integer(), nullable=False),
        sa.Column("calibrated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_item_parameters_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("question_id", name=op.f("pk_item_parameters")),
    )

    op.create_table(
        "ability_estimates",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("assessment_id", ID, nullable=False),
        sa.Column("theta", sa.Float(), nullable=False),
        sa.Column("standard_error", sa.Float(), nullable=False),
        sa.Column("n_items", sa.Integer(), nullable=False),
        sa.Column("estimated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_ability_estimates_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ability_estimates_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ability_estimates")),
        sa.UniqueConstraint(
            "user_id", "assessment_id", name=op.f("uq_ability_estimates_user_id_assessment_id")
        ),
    )
    op.create_index(
        op.f("ix_ability_estimates_assessment_id"), "ability_estimates", ["assessment_id"]
    )

    op.create_table(
        "feedback",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("response_id", ID, nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("source IN ('ai', 'human')", name=op.f("ck_feedback_source")),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_feedback_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index(op.f("ix_feedback_response_id"), "feedback", ["response_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_feedback_response_id"), table_name="feedback")
    op.drop_table("feedback")
    op.drop_index(op.f("ix_ability_estimates_assessment_id"), table_name="ability_estimates")
    op.drop_table("ability_estimates")
    op.drop_table("item_parameters")
