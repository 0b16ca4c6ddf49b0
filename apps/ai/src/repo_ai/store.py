"""What the AI app reads from and writes to the shared database (through repo_db's models)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repo_ai.ability import AbilityEstimate
from repo_ai.calibration import Calibration2PL
from repo_db.models import AbilityEstimate as AbilityEstimateRow
from repo_db.models import (
    Attempt,
    AttemptStatus,
    Calibration,
    Feedback,
    FeedbackSource,
    ItemParameter,
    Question,
    Response,
)
from repo_domain.common import utcnow


def latest_calibration_id(session: Session, assessment_id: int) -> int | None:
    return session.scalar(
        select(Calibration.id)
        .where(Calibration.assessment_id == assessment_id)
        .order_by(Calibration.id.desc())
        .limit(1)
    )


def save_ability(
    session: Session,
    *,
    user_id: int,
    assessment_id: int,
    estimate: AbilityEstimate,
    calibration_id: int | None = None,
) -> AbilityEstimateRow:
    """Insert or replace the learner's estimate for this assessment (one row per pair)."""
    row = session.scalars(
        select(AbilityEstimateRow).filter_by(user_id=user_id, assessment_id=assessment_id)
    ).one_or_none()
    if row is None:
        row = AbilityEstimateRow(user_id=user_id, assessment_id=assessment_id)
        session.add(row)
    row.theta = estimate.theta
    row.standard_error = estimate.standard_error
    row.n_items = estimate.n_items
    row.calibration_id = calibration_id
    row.estimated_at = utcnow()
    session.flush()
    return row


@dataclass(frozen=True)
class ResponseData:
    """An assessment's scored answers as index arrays (learner = graded attempt)."""

    attempt_ids: list[int]
    question_ids: list[int]
    learner: np.ndarray
    item: np.ndarray
    correct: np.ndarray


def load_responses(session: Session, assessment_id: int) -> ResponseData:
    rows = session.execute(
        select(Response.attempt_id, Response.question_id, Response.is_correct)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(
            Attempt.assessment_id == assessment_id,
            Attempt.status == AttemptStatus.GRADED,
            Response.is_correct.is_not(None),
        )
    ).all()
    attempts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    questions = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    correct = np.fromiter((bool(r[2]) for r in rows), dtype=bool, count=len(rows))
    attempt_ids, learner = np.unique(attempts, return_inverse=True)
    question_ids, item = np.unique(questions, return_inverse=True)
    return ResponseData(
        attempt_ids=attempt_ids.tolist(),
        question_ids=question_ids.tolist(),
        learner=learner.astype(np.int64),
        item=item.astype(np.int64),
        correct=correct,
    )


def save_calibration(
    session: Session,
    *,
    assessment_id: int,
    question_ids: list[int],
    fit: Calibration2PL,
    keep: np.ndarray,
) -> Calibration:
    """A new calibration version and the parameters of the items in ``keep`` (a boolean mask)."""
    calibration = Calibration(
        assessment_id=assessment_id,
        model="2pl",
        method="mml-em (repo_ai.calibration)",
        n_learners=fit.n_learners,
        n_responses=int(fit.n_responses.sum()),
        n_items=int(keep.sum()),
        iterations=fit.iterations,
        converged=fit.converged,
        log_likelihood=fit.log_likelihood,
        created_at=utcnow(),
    )
    session.add(calibration)
    session.flush()
    existing = {
        row.question_id: row
        for row in session.scalars(
            select(ItemParameter).where(ItemParameter.question_id.in_(question_ids))
        )
    }
    for index, question_id in enumerate(question_ids):
        if not keep[index]:
            continue
        row = existing.get(question_id)
        if row is None:
            row = ItemParameter(question_id=question_id)
            session.add(row)
        row.model = "2pl"
        row.difficulty = float(fit.difficulty[index])
        row.discrimination = float(fit.discrimination[index])
        row.guessing = 0.0
        row.difficulty_se = float(fit.difficulty_se[index])
        row.discrimination_se = float(fit.discrimination_se[index])
        row.fit_rmsd = float(fit.fit_rmsd[index])
        row.n_responses = int(fit.n_responses[index])
        row.calibration_id = calibration.id
        row.calibrated_at = utcnow()
    session.flush()
    return calibration


#: The newest reviews a question's model learns from (older ones add little and cost time).
MAX_REVIEWS = 400


def reviewed_answers(
    session: Session, question_id: int, limit: int = MAX_REVIEWS
) -> list[tuple[str, float]]:
    """The author's grades of a question's answers, newest first: (answer text, share of the
    points). Only answers whose latest grade is a human's count (a later AI grade, e.g. after
    an undo, replaces it)."""
    latest = (
        select(func.max(Feedback.id).label("id"))
        .join(Response, Response.id == Feedback.response_id)
        .where(Response.question_id == question_id)
        .group_by(Feedback.response_id)
        .subquery()
    )
    rows = session.execute(
        select(Response.text_value, Feedback.score, Question.points)
        .join(latest, latest.c.id == Feedback.id)
        .join(Response, Response.id == Feedback.response_id)
        .join(Question, Question.id == Response.question_id)
        .where(Feedback.source == FeedbackSource.HUMAN, Feedback.score.is_not(None))
        .order_by(Feedback.id.desc())
        .limit(limit)
    ).all()
    return [
        (text, min(max(score / points, 0.0), 1.0) if points else 0.0)
        for text, score, points in rows
        if text and text.strip()
    ]
