"""The audit log: who changed what, when, with the values before and after (migration 0012)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from repo_db.models.base import Base, Id, utcnow


class AuditEvent(Base):
    """One admin or author action. ``before``/``after`` hold only the fields it changed; the
    actor is kept by id (NULL once that account is gone) and by email, so the log still says
    who it was."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # "What happened to this user / assessment", newest first.
        Index("ix_audit_events_subject_type_subject_id_id", "subject_type", "subject_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_email: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Id)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
