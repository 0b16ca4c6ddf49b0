"""The work queue: background jobs claimed by workers under a lease (migration 0004)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from repo_db.models.base import Base, Id, utcnow
from repo_db.models.enums import JobStatus, check_in


class Job(Base):
    """One unit of background work on one subject (e.g. grade attempt 17).

    (kind, subject_id) is unique, so enqueueing twice is a no-op (or re-queues a finished job).
    A worker owns a running job until ``lease_expires_at``; after that any worker may take it.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(check_in("status", JobStatus), name="status"),
        UniqueConstraint("kind", "subject_id"),
        Index("ix_jobs_status_run_after", "status", "run_after"),
        Index("ix_jobs_status_lease_expires_at", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Id)
    status: Mapped[str] = mapped_column(
        String(16), default=JobStatus.QUEUED.value, server_default=JobStatus.QUEUED.value
    )
    tries: Mapped[int] = mapped_column(default=0, server_default="0")
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
