"""exposure fits: Sympson-Hetter parameters stored per assessment, fitted off requests (issue 18)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 23:10:00

A new table, created empty: the AI worker fills it (``repo_ai.work.refit_exposure``) after a
calibration, and the adaptive path serves with conservative parameters until a row matches
(``repo_domain.adaptive.exposure_control``). Nothing is locked but the new table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "exposure_fits",
        sa.Column("assessment_id", ID, nullable=False),
        sa.Column("fit_key", sa.String(length=64), nullable=False),
        sa.Column("k", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_exposure_fits_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("assessment_id", name=op.f("pk_exposure_fits")),
    )


def downgrade() -> None:
    op.drop_table("exposure_fits")
