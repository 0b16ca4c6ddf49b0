"""Per-assessment statistics, computed with SQL aggregates (never by loading rows into Python)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from repo_db.models import Attempt, AttemptStatus, Question, Response, Result
from repo_domain.assessments import get_managed
from repo_domain.common import Actor

BUCKETS = 10  # score distribution in 10-point percent bands; 100% falls in the last band


def _bucket_expr() -> ColumnElement[Any]:
    """Portable banding: CAST rounds on PostgreSQL but truncates on SQLite, so compare instead."""
    whens = [(Result.percent < (i + 1) * 100 / BUCKETS, i) for i in range(BUCKETS - 1)]
    return case(*whens, else_=BUCKETS - 1)


def assessment_stats(session: Session, *, actor: Actor, assessment_id: int) -> dict[str, object]:
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id)

    by_status: dict[str, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Attempt.status, func.count())
            .where(Attempt.assessment_id == assessment.id)
            .group_by(Attempt.status)
        ).all()
    )
    totals = session.execute(
        select(
            func.count(),  # not count(id): the index has no id, and id is never NULL
            func.avg(Result.percent),
            # Pending results (passed IS NULL) are neither passes nor failures: AVG skips NULL.
            func.avg(
                case((Result.passed.is_(None), None), (Result.passed.is_(True), 1.0), else_=0.0)
            ),
        ).where(Result.assessment_id == assessment.id)
    ).one()
    bucket = _bucket_expr().label("bucket")
    bands: dict[int, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(bucket, func.count())
            .where(Result.assessment_id == assessment.id)
            .group_by(bucket)
        ).all()
    )
    per_question = {
        row.question_id: row
        for row in session.execute(
            select(
                Response.question_id,
                func.count(Response.id).label("responses"),
                func.sum(case((Response.is_correct.is_(True), 1), else_=0)).label("correct"),
                func.count(Response.is_correct).label("decided"),
                func.avg(Response.score).label("mean_score"),
            )
            .join(Attempt, Attempt.id == Response.attempt_id)
            .where(
                Attempt.assessment_id == assessment.id, Attempt.status != AttemptStatus.IN_PROGRESS
            )
            .group_by(Response.question_id)
        ).all()
    }
    questions = session.execute(
        select(Question.id, Question.position, Question.kind)
        .where(Question.assessment_id == assessment.id)
        .order_by(Question.position)
    ).all()

    question_stats = []
    for q in questions:
        row = per_question.get(q.id)
        responses = int(row.responses) if row else 0
        correct = int(row.correct or 0) if row else 0
        decided = int(row.decided) if row else 0
        question_stats.append(
            {
                "question_id": q.id,
                "position": q.position,
                "kind": q.kind,
                "responses": responses,
                "correct": correct,
                "correct_rate": (correct / decided) if decided else None,
                "mean_score": float(row.mean_score) if row and row.mean_score is not None else None,
            }
        )
    width = 100 // BUCKETS
    return {
        "assessment_id": assessment.id,
        "attempts": sum(by_status.values()),
        "in_progress": int(by_status.get(AttemptStatus.IN_PROGRESS, 0)),
        "grading": int(by_status.get(AttemptStatus.GRADING, 0)),
        "graded": int(by_status.get(AttemptStatus.GRADED, 0)),
        "results": int(totals[0]),
        "mean_percent": float(totals[1]) if totals[1] is not None else None,
        "pass_rate": float(totals[2]) if totals[2] is not None else None,
        "score_distribution": [
            {
                "lower_percent": i * width,
                "upper_percent": (i + 1) * width,
                "count": int(bands.get(i, 0)),
            }
            for i in range(BUCKETS)
        ],
        "questions": question_stats,
    }


__all__ = ["BUCKETS", "assessment_stats"]
