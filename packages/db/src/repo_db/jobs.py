"""A work queue in the database: enqueue jobs, claim them under a lease, complete or retry them.

Claiming is one short writing transaction, the same code on both databases:

* PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent workers take disjoint jobs
  without waiting for each other, then an UPDATE that sets the lease.
* SQLite: a writing unit of work begins with ``BEGIN IMMEDIATE``, so claims are serialized by
  the database's write lock (``FOR UPDATE`` is not rendered there).

A claimed job belongs to its worker until ``lease_expires_at``; if the worker dies, any worker
may claim the job again once the lease has expired. ``complete`` succeeds only for the lease's
current owner, so a worker that lost its lease can roll its work back instead of doing it twice:
do the job's writes and ``complete`` in ONE unit of work and raise ``LeaseLost`` if it fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repo_db._context import _refuse_write_in_read_only
from repo_db._errors import RepoDbError
from repo_db.models import Job, JobStatus

DEFAULT_LEASE_S = 60.0


class LeaseLost(RepoDbError):
    """The job's lease expired and another worker owns it now: roll back, do not complete."""


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    kind: str
    subject_id: int
    tries: int
    lease_owner: str
    lease_expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


#: Rows per INSERT of ``enqueue_many`` (3 parameters each: far below PostgreSQL's 65,535).
ENQUEUE_CHUNK = 1000


def enqueue(session: Session, *, kind: str, subject_id: int, delay_s: float = 0.0) -> None:
    """Queue (kind, subject_id): a queued or running job stays as it is, a finished one is queued
    again.

    One statement, ``INSERT ... ON CONFLICT (kind, subject_id) DO UPDATE ... WHERE`` the job is
    finished (the same on both databases), so racing enqueues need no SAVEPOINT or retry: this
    runs in every submit.
    """
    enqueue_many(session, kind=kind, subject_ids=[subject_id], delay_s=delay_s)


def enqueue_many(
    session: Session, *, kind: str, subject_ids: Iterable[int], delay_s: float = 0.0
) -> None:
    """``enqueue`` for many subjects, one multi-row statement per ``ENQUEUE_CHUNK`` of them (a
    regrade queues thousands of attempts: one statement each was half its time)."""
    now = _now()
    run_after = now + timedelta(seconds=delay_s)
    jobs = Job.__table__
    conn = session.connection()
    _refuse_write_in_read_only(conn)  # what an ORM flush in a read-only unit would do
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # Unique ids: PostgreSQL refuses a statement whose ON CONFLICT would touch a row twice.
    ids = sorted(set(subject_ids))
    for start in range(0, len(ids), ENQUEUE_CHUNK):
        rows = [
            {"kind": kind, "subject_id": subject_id, "run_after": run_after}
            for subject_id in ids[start : start + ENQUEUE_CHUNK]
        ]
        stmt = dialect.insert(jobs).values(rows)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[jobs.c.kind, jobs.c.subject_id],
                set_={
                    "status": JobStatus.QUEUED,
                    "tries": 0,
                    "run_after": run_after,
                    "last_error": None,
                    "updated_at": now,
                },
                where=jobs.c.status.in_((JobStatus.DONE, JobStatus.FAILED)),
            )
        )


def claim(
    session: Session,
    *,
    kinds: Sequence[str],
    worker: str,
    limit: int = 1,
    lease_s: float = DEFAULT_LEASE_S,
) -> list[ClaimedJob]:
    """Take up to ``limit`` due jobs (queued and due, or running with an expired lease).

    Call it in its own short writing unit of work, so the lease is committed before the work.
    """
    now = _now()
    due = or_(
        and_(Job.status == JobStatus.QUEUED, Job.run_after <= now),
        and_(Job.status == JobStatus.RUNNING, Job.lease_expires_at < now),
    )
    ids = list(
        session.scalars(
            select(Job.id)
            .where(Job.kind.in_(list(kinds)), due)
            .order_by(Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    expires = now + timedelta(seconds=lease_s)
    session.execute(
        update(Job)
        .where(Job.id.in_(ids))
        .values(
            status=JobStatus.RUNNING,
            lease_owner=worker,
            lease_expires_at=expires,
            tries=Job.tries + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(Job.id, Job.kind, Job.subject_id, Job.tries).where(Job.id.in_(ids)).order_by(Job.id)
    ).all()
    return [
        ClaimedJob(
            id=r.id,
            kind=r.kind,
            subject_id=r.subject_id,
            tries=r.tries,
            lease_owner=worker,
            lease_expires_at=expires,
        )
        for r in rows
    ]


def _owned(job_id: int, worker: str) -> list[object]:
    return [Job.id == job_id, Job.status == JobStatus.RUNNING, Job.lease_owner == worker]


def complete(session: Session, *, job_id: int, worker: str) -> bool:
    """Mark the job done if ``worker`` still holds its lease (False: the lease was lost)."""
    done = session.execute(
        update(Job)
        .where(*_owned(job_id, worker))  # type: ignore[arg-type]
        .values(status=JobStatus.DONE, lease_owner=None, lease_expires_at=None, updated_at=_now())
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def fail(
    session: Session,
    *,
    job_id: int,
    worker: str,
    error: str,
    retry_in_s: float | None,
) -> bool:
    """Give the job back: queued again after ``retry_in_s``, or ``failed`` for good if None."""
    values: dict[str, object] = {
        "lease_owner": None,
        "lease_expires_at": None,
        "last_error": error[:2000],
        "updated_at": _now(),
    }
    if retry_in_s is None:
        values["status"] = JobStatus.FAILED
    else:
        values["status"] = JobStatus.QUEUED
        values["run_after"] = _now() + timedelta(seconds=retry_in_s)
    changed = session.execute(
        update(Job)
        .where(*_owned(job_id, worker))  # type: ignore[arg-type]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(changed.rowcount == 1)  # type: ignore[attr-defined]


__all__ = [
    "DEFAULT_LEASE_S",
    "ENQUEUE_CHUNK",
    "ClaimedJob",
    "LeaseLost",
    "claim",
    "complete",
    "enqueue",
    "enqueue_many",
    "fail",
]
