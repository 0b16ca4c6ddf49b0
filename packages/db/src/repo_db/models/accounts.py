"""Users and their login tokens (initial migration)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func, true
from sqlalchemy.orm import Mapped, mapped_column

from repo_db.models.base import Base, Id, utcnow
from repo_db.models.enums import Role, check_in


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(check_in("role", Role), name="role"),
        # Admin user list: keyset pagination by id, search by email/display name prefix.
        Index("ix_users_display_name", "display_name"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(
        String(16), default=Role.LEARNER.value, server_default=Role.LEARNER.value
    )
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuthToken(Base):
    """An opaque bearer token; only its SHA-256 is stored, so a leaked table grants no access."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]


# Admin user search (migration 0006, repo_domain.search): a btree on lower(col) per searched
# column. On PostgreSQL its text_pattern_ops operator class lets `lower(col) LIKE 'x%'` use it
# whatever the database collation; SQLite ignores postgresql_ops and serves the range form of the
# same match. (A pg_trgm GIN index was measured and rejected: docs/benchmarks.md.)
Index(
    "ix_users_lower_email",
    func.lower(User.email).label("lower_email"),
    postgresql_ops={"lower_email": "text_pattern_ops"},
)
Index(
    "ix_users_lower_display_name",
    func.lower(User.display_name).label("lower_display_name"),
    postgresql_ops={"lower_display_name": "text_pattern_ops"},
)
