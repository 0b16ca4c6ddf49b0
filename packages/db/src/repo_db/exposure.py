"""Exposure counters for adaptive tests: attempts started per assessment, and learners served per
question, each moved by ONE statement so concurrent processes never overshoot a cap.

* ``count_start``: ``INSERT ... ON CONFLICT DO UPDATE SET started = started + 1 RETURNING
  started``: the attempt's own N (attempts started so far, this one included).
* ``claim``: ``UPDATE question_exposure SET served = served + 1 WHERE question_id = :q AND
  served + 1 <= :cap``; rowcount 0 means the cap is reached (or the question was never served:
  then the row is inserted with 1). The check and the increment are one statement on one row:
  on PostgreSQL a concurrent claim that sees room waits for the row lock and re-evaluates the
  WHERE on the updated row (READ COMMITTED), one that sees none takes no lock; on SQLite writers
  are serialized by ``BEGIN IMMEDIATE``. So ``served`` never exceeds the cap whatever the races.

Run them in a writing unit of work: the counters move with the rest of that unit (a rolled-back
serve un-claims its question).

The Sympson-Hetter parameters are stored here too (``save_fit``, ``stored_fit``): fitted once per
bank and policy by the AI worker, outside any transaction, and read by every serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repo_db._context import _refuse_write_in_read_only
from repo_db.models import AdaptiveStarts, ExposureFit, QuestionExposure
from repo_db.models.base import utcnow


def _writing_dialect(session: Session) -> ModuleType:
    """The dialect module whose ``insert`` has ON CONFLICT; refuses a read-only unit."""
    conn = session.connection()
    _refuse_write_in_read_only(conn)  # what an ORM flush in a read-only unit would do
    return postgresql if conn.dialect.name == "postgresql" else sqlite


def count_start(session: Session, *, assessment_id: int) -> int:
    """Count one more adaptive attempt started on the assessment; returns the new total."""
    table = AdaptiveStarts.__table__
    stmt = (
        _writing_dialect(session)
        .insert(table)
        .values(assessment_id=assessment_id, started=1)
        .on_conflict_do_update(
            index_elements=[table.c.assessment_id], set_={"started": table.c.started + 1}
        )
        .returning(table.c.started)
    )
    return int(session.execute(stmt).scalar_one())


def started(session: Session, *, assessment_id: int) -> int:
    """Adaptive attempts started on the assessment so far."""
    value = session.scalar(
        select(AdaptiveStarts.started).where(AdaptiveStarts.assessment_id == assessment_id)
    )
    return int(value or 0)


def claim(session: Session, *, question_id: int, cap: int | None) -> bool:
    """Count one more learner served the question if that keeps its count <= ``cap`` (None: no
    cap, always counted). True when counted; False (nothing changed) when the cap is reached."""
    if cap is not None and cap < 1:
        return False
    dialect = _writing_dialect(session)
    table = QuestionExposure.__table__
    stmt = update(QuestionExposure).where(QuestionExposure.question_id == question_id)
    if cap is not None:
        stmt = stmt.where(QuestionExposure.served + 1 <= cap)
    counted = session.execute(
        stmt.values(served=QuestionExposure.served + 1).execution_options(
            synchronize_session=False  # no ORM object holds the counter
        )
    )
    if counted.rowcount == 1:  # type: ignore[attr-defined]
        return True
    # At the cap, or never served: only a missing row is created (served 1 <= cap). DO NOTHING
    # leaves an existing row unlocked, as the refused UPDATE did, so a unit holds the lock of
    # its one successful claim only and claims cannot deadlock. A row inserted by a racing
    # first serve in between refuses this claim: the safe side.
    created = session.execute(
        dialect.insert(table)
        .values(question_id=question_id, served=1)
        .on_conflict_do_nothing(index_elements=[table.c.question_id])
        .returning(table.c.question_id)
    ).scalar_one_or_none()
    return created is not None


def served(session: Session, *, question_ids: Sequence[int]) -> dict[int, int]:
    """Question id -> learners served (0 for a question never served)."""
    counts = dict.fromkeys(question_ids, 0)
    if question_ids:
        for question_id, count in session.execute(
            select(QuestionExposure.question_id, QuestionExposure.served).where(
                QuestionExposure.question_id.in_(list(question_ids))
            )
        ):
            counts[question_id] = int(count)
    return counts


def stored_fit(session: Session, *, assessment_id: int, fit_key: str) -> list[float] | None:
    """The stored K_i of the assessment if they were fitted for ``fit_key`` (None: no fit
    stored, or a stale one for another bank or policy)."""
    row = session.execute(
        select(ExposureFit.fit_key, ExposureFit.k).where(ExposureFit.assessment_id == assessment_id)
    ).one_or_none()
    if row is None or row.fit_key != fit_key:
        return None
    return [float(v) for v in row.k]


def save_fit(
    session: Session, *, assessment_id: int, fit_key: str, k: Sequence[float], seconds: float
) -> None:
    """Store the assessment's K_i fitted for ``fit_key``, replacing any earlier fit (one
    statement: two workers storing at once leave one complete row, the last one's)."""
    table = ExposureFit.__table__
    values = {
        "fit_key": fit_key,
        "k": [float(v) for v in k],
        "seconds": float(seconds),
        "fitted_at": utcnow(),
    }
    session.execute(
        _writing_dialect(session)
        .insert(table)
        .values(assessment_id=assessment_id, **values)
        .on_conflict_do_update(index_elements=[table.c.assessment_id], set_=values)
    )


__all__ = ["claim", "count_start", "save_fit", "served", "started", "stored_fit"]
