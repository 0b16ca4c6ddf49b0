"""assessments: assessments, questions, answer options, attempts, responses, results

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("author_id", ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("time_limit_seconds", sa.Integer(), nullable=True),
        sa.Column("pass_percent", sa.Float(), server_default="60", nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("published_at", TS, nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'archived')", name=op.f("ck_assessments_status")
        ),
        _fk("assessments", "author_id", "users", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    op.create_index(op.f("ix_assessments_author_id"), "assessments", ["author_id"])
    op.create_index("ix_assessments_status_id", "assessments", ["status", "id"])
    op.create_index("ix_assessments_title", "assessments", ["title"])

    op.create_table(
        "questions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("assessment_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("points", sa.Float(), server_default="1", nullable=False),
        sa.Column("numeric_answer", sa.Float(), nullable=True),
        sa.Column("numeric_tolerance", sa.Float(), nullable=True),
        sa.Column("reference_answer", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('single_choice', 'multiple_choice', 'numeric', 'free_text')",
            name=op.f("ck_questions_kind"),
        ),
        _fk("questions", "assessment_id", "assessments", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
        sa.UniqueConstraint(
            "assessment_id", "position", name=op.f("uq_questions_assessment_id_position")
        ),
    )
    op.create_index(op.f("ix_questions_assessment_id"), "questions", ["assessment_id"])

    op.create_table(
        "answer_options",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("question_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("is_correct", sa.Boolean(), server_default=sa.false(), nullable=False),
        _fk("answer_options", "question_id", "questions", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_options")),
        sa.UniqueConstraint(
            "question_id", "position", name=op.f("uq_answer_options_question_id_position")
        ),
    )
    op.create_index(op.f("ix_answer_options_question_id"), "answer_options", ["question_id"])

    op.create_table(
        "attempts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("assessment_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("status", sa.String(length=16), server_default="in_progress", nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("submitted_at", TS, nullable=True),
        sa.CheckConstraint(
            "status IN ('in_progress', 'grading', 'graded')", name=op.f("ck_attempts_status")
        ),
        _fk("attempts", "assessment_id", "assessments", "CASCADE"),
        _fk("attempts", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
    )
    op.create_index("ix_attempts_assessment_id_status", "attempts", ["assessment_id", "status"])
    op.create_index("ix_attempts_user_id_id", "attempts", ["user_id", "id"])

    op.create_table(
        "responses",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("attempt_id", ID, nullable=False),
        sa.Column("question_id", ID, nullable=False),
        sa.Column("selected_option_ids", sa.JSON(), nullable=True),
        sa.Column("numeric_value", sa.Float(), nullable=True),
        sa.Column("text_value", sa.Text(), nullable=True),
        sa.Column("is_correct", sa.Boolean(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column(
            "grading_status", sa.String(length=16), server_default="not_required", nullable=False
        ),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "grading_status IN ('not_required', 'pending', 'graded')",
            name=op.f("ck_responses_grading_status"),
        ),
        _fk("responses", "attempt_id", "attempts", "CASCADE"),
        _fk("responses", "question_id", "questions", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
        sa.UniqueConstraint(
            "attempt_id", "question_id", name=op.f("uq_responses_attempt_id_question_id")
        ),
    )
    op.create_index("ix_responses_grading_status_id", "responses", ["grading_status", "id"])
    op.create_index(op.f("ix_responses_question_id"), "responses", ["question_id"])

    op.create_table(
        "results",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("attempt_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("assessment_id", ID, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _fk("results", "assessment_id", "assessments", "CASCADE"),
        _fk("results", "attempt_id", "attempts", "CASCADE"),
        _fk("results", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_results_attempt_id")),
    )
    op.create_index(op.f("ix_results_assessment_id"), "results", ["assessment_id"])
    op.create_index(op.f("ix_results_user_id"), "results", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_results_user_id"), table_name="results")
    op.drop_index(op.f("ix_results_assessment_id"), table_name="results")
    op.drop_table("results")
    op.drop_index(op.f("ix_responses_question_id"), table_name="responses")
    op.drop_index("ix_responses_grading_status_id", table_name="responses")
    op.drop_table("responses")
    op.drop_index("ix_attempts_user_id_id", table_name="attempts")
    op.drop_index("ix_attempts_assessment_id_status", table_name="attempts")
    op.drop_table("attempts")
    op.drop_index(op.f("ix_answer_options_question_id"), table_name="answer_options")
    op.drop_table("answer_options")
    op.drop_index(op.f("ix_questions_assessment_id"), table_name="questions")
    op.drop_table("questions")
    op.drop_index("ix_assessments_title", table_name="assessments")
    op.drop_index("ix_assessments_status_id", table_name="assessments")
    op.drop_index(op.f("ix_assessments_author_id"), table_name="assessments")
    op.drop_table("assessments")
