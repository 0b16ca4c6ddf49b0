"""search: indexes the admin user search uses (issue 8)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index name, column): repo_domain.search matches a prefix of lower(column).
SEARCHED = (("ix_users_lower_email", "email"), ("ix_users_lower_display_name", "display_name"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Trigram GIN: serves `lower(col) LIKE 'x%'` (and '%x%', should search widen later).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in SEARCHED:
            op.execute(f"CREATE INDEX {name} ON users USING gin (lower({column}) gin_trgm_ops)")
    else:
        # SQLite's LIKE optimisation ignores expressions: a btree on lower(col) serves the
        # equivalent range `lower(col) >= 'x' AND lower(col) < 'y'` that the search adds there.
        for name, column in SEARCHED:
            op.create_index(name, "users", [sa.text(f"lower({column})")])


def downgrade() -> None:
    # The pg_trgm extension stays: other objects may use it, and it costs nothing unused.
    for name, _column in reversed(SEARCHED):
        op.drop_index(name, table_name="users")
