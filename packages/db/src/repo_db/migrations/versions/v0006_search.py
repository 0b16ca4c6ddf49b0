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
    postgresql = op.get_context().dialect.name == "postgresql"
    for name, column in SEARCHED:
        if postgresql:
            # text_pattern_ops lets `lower(col) LIKE 'x%'` range-scan the btree under any
            # collation (the default operator class does so only under the "C" collation).
            # CONCURRENTLY keeps `users` writable while it builds (outside a transaction).
            with op.get_context().autocommit_block():
                op.execute(
                    f"CREATE INDEX CONCURRENTLY {name} ON users (lower({column}) text_pattern_ops)"
                )
        else:
            # SQLite's LIKE optimisation ignores expressions: repo_domain.search adds the
            # equivalent range `lower(col) >= 'x' AND lower(col) < 'y'`, which this btree serves.
            op.create_index(name, "users", [sa.text(f"lower({column})")])


def downgrade() -> None:
    for name, _column in reversed(SEARCHED):
        op.drop_index(name, table_name="users")
