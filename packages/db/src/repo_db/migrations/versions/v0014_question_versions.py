"""question versions: a published question can be corrected; answers keep their version (issue 20)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 23:10:00

A new table ``question_versions`` (one row per version of a question: the whole content as
JSON), ``questions.version`` (the version the row holds now), ``responses.question_version``
(the version an answer is scored against) and ``results.regraded_at``.

Every existing question becomes version 1 with a snapshot of its content, and every existing
answer points at version 1 (the column's default). The new columns are a constant default or
nullable: no table rewrite on PostgreSQL 11+, plain ADD COLUMN on SQLite (no batch: recreating
``responses`` or ``results`` is what 0011 avoids too). The snapshots are written by the
database in one INSERT ... SELECT: nothing is read into Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
# squawk-ignore: require-concurrent-index-creation -- question_versions is created empty above

# Version 1 of every question, with the content as repo_domain.questions.snapshot writes it (that
# function's format at 0014), built by the database in one INSERT ... SELECT (it also runs in
# offline mode, which the migration lint uses). The JSON functions differ by dialect.
_POSTGRESQL_SNAPSHOT = """
INSERT INTO question_versions (question_id, version, content, created_at)
SELECT q.id, 1, json_build_object(
    'kind', q.kind, 'prompt', q.prompt, 'points', q.points,
    'numeric_answer', q.numeric_answer, 'numeric_tolerance', q.numeric_tolerance,
    'reference_answer', q.reference_answer, 'rubric_keywords', q.rubric_keywords,
    'options', COALESCE((
        SELECT json_agg(
            json_build_object('id', o.id, 'text', o.text, 'is_correct', o.is_correct)
            ORDER BY o.position)
        FROM answer_options o WHERE o.question_id = q.id
    ), '[]'::json)
), CURRENT_TIMESTAMP
FROM questions q
"""
# SQLite: a scalar subquery loses the JSON subtype, hence json(...) around it; booleans are 0/1.
_SQLITE_SNAPSHOT = """
INSERT INTO question_versions (question_id, version, content, created_at)
SELECT q.id, 1, json_object(
    'kind', q.kind, 'prompt', q.prompt, 'points', q.points,
    'numeric_answer', q.numeric_answer, 'numeric_tolerance', q.numeric_tolerance,
    'reference_answer', q.reference_answer, 'rubric_keywords', json(q.rubric_keywords),
    'options', json(COALESCE((
        SELECT json_group_array(json_object(
            'id', o.id, 'text', o.text,
            'is_correct', json(CASE WHEN o.is_correct THEN 'true' ELSE 'false' END)))
        FROM (SELECT * FROM answer_options WHERE question_id = q.id ORDER BY position) o
    ), '[]'))
), CURRENT_TIMESTAMP
FROM questions q
"""


def upgrade() -> None:
    op.create_table(
        "question_versions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("question_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_question_versions_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_question_versions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_versions")),
        sa.UniqueConstraint(
            "question_id", "version", name=op.f("uq_question_versions_question_id_version")
        ),
    )
    op.create_index(
        op.f("ix_question_versions_created_by_id"), "question_versions", ["created_by_id"]
    )
    op.add_column(
        "questions", sa.Column("version", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column(
        "responses",
        sa.Column("question_version", sa.Integer(), server_default="1", nullable=False),
    )
    op.add_column("results", sa.Column("regraded_at", TS, nullable=True))
    dialect = op.get_context().dialect.name
    op.execute(_SQLITE_SNAPSHOT if dialect == "sqlite" else _POSTGRESQL_SNAPSHOT)


def downgrade() -> None:
    op.drop_column("results", "regraded_at")
    op.drop_column("responses", "question_version")
    op.drop_column("questions", "version")
    op.drop_index(op.f("ix_question_versions_created_by_id"), table_name="question_versions")
    op.drop_table("question_versions")
