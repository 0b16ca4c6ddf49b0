"""adaptive limits: per-assessment test length bounds and maximum item exposure (issue 18)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:00:00

Three nullable columns on ``assessments``; NULL means the default that repo_domain.adaptive
derives (see its docstring), so existing adaptive assessments keep working unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("adaptive_min_length", sa.Integer()),
    ("adaptive_max_length", sa.Integer()),
    ("adaptive_max_exposure", sa.Float()),
)


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch): recreating `assessments` on SQLite with foreign keys on would
    # cascade-delete its questions and attempts (as in 0005).
    for name, type_ in COLUMNS:
        op.add_column("assessments", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # Native DROP COLUMN (SQLite >= 3.35), again no table rebuild.
    for name, _type in reversed(COLUMNS):
        op.drop_column("assessments", name)
