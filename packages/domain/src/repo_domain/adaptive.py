"""Computerized adaptive testing: which question a learner gets next, and when to stop.

For an assessment marked ``adaptive`` the next question is the unanswered one with maximum Fisher
information at the learner's current EAP ability estimate (from this attempt's scored answers),
using the item parameters that apps/ai calibrated (uncalibrated questions count as b=0, a=1).
The test stops when the estimate's standard error falls to the assessment's target (or the
questions run out). Other assessments serve their questions in position order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from repo_db.models import Assessment, Attempt, ItemParameter, Question, Response
from repo_domain import attempts
from repo_domain.assessments import load_view
from repo_domain.common import Actor
from repo_domain.errors import NotFound
from repo_domain.irt import (
    UNCALIBRATED_DIFFICULTY,
    AbilityEstimate,
    ItemParams,
    estimate_ability,
    information_many,
)

#: Stop an adaptive test once SE(theta) is at most this (about a 20-item fixed form's precision).
DEFAULT_TARGET_SE = 0.35


@dataclass(frozen=True, slots=True)
class NextQuestion:
    """Where an attempt stands: the question to serve next (None when done) and why."""

    question_id: int | None
    done: bool
    reason: str  # "next" | "target_se_reached" | "all_answered"
    adaptive: bool
    theta: float
    standard_error: float
    n_scored: int
    n_answered: int
    n_questions: int


def load_item_params(session: Session, question_ids: Sequence[int]) -> dict[int, ItemParams]:
    """Calibrated parameters where they exist, the uncalibrated defaults elsewhere."""
    params = {qid: ItemParams(difficulty=UNCALIBRATED_DIFFICULTY) for qid in question_ids}
    if question_ids:
        for row in session.scalars(
            select(ItemParameter).where(ItemParameter.question_id.in_(list(question_ids)))
        ):
            params[row.question_id] = ItemParams(row.difficulty, row.discrimination, row.guessing)
    return params


def most_informative(theta: float, candidates: Mapping[int, ItemParams]) -> int | None:
    """The candidate with maximum Fisher information at ``theta`` (ties: lowest id)."""
    if not candidates:
        return None
    ids = sorted(candidates)
    info = information_many(
        theta,
        np.array([candidates[q].discrimination for q in ids]),
        np.array([candidates[q].difficulty for q in ids]),
        np.array([candidates[q].guessing for q in ids]),
    )
    return ids[int(np.argmax(info))]


def should_stop(estimate: AbilityEstimate, *, target_se: float, remaining: int) -> bool:
    return remaining == 0 or (estimate.n_items > 0 and estimate.standard_error <= target_se)


def scored_answers(
    session: Session, *, attempt: Attempt, questions: Sequence[Question]
) -> dict[int, bool]:
    """Question id -> correct, for this attempt's answers that have a score already.

    Objective answers are scored as submit would score them; free text counts once graded.
    """
    by_id = {q.id: q for q in questions}
    assessment = session.get(Assessment, attempt.assessment_id)
    assert assessment is not None
    view = load_view(session, assessment=assessment)
    scored: dict[int, bool] = {}
    for response in session.scalars(select(Response).where(Response.attempt_id == attempt.id)):
        question = by_id.get(response.question_id)
        if question is None:
            continue
        if question.kind == "free_text":
            if response.grading_status == "graded" and response.score is not None:
                scored[question.id] = response.score >= 0.5 * question.points
            continue
        _score, correct, _status = attempts.score_question(
            question, view.options[question.id], response
        )
        scored[question.id] = bool(correct)
    return scored


def next_question_for(session: Session, *, attempt: Attempt) -> NextQuestion:
    """The next question of ``attempt`` (no permission check: callers have done it)."""
    assessment = session.get(Assessment, attempt.assessment_id)
    if assessment is None:
        raise NotFound("assessment not found")
    questions = list(
        session.scalars(
            select(Question)
            .where(Question.assessment_id == assessment.id)
            .order_by(Question.position)
        )
    )
    answered = set(
        session.scalars(select(Response.question_id).where(Response.attempt_id == attempt.id))
    )
    scored = scored_answers(session, attempt=attempt, questions=questions)
    params = load_item_params(session, [q.id for q in questions])
    ids = sorted(scored)
    estimate = estimate_ability([scored[q] for q in ids], [params[q] for q in ids])
    remaining = [q for q in questions if q.id not in answered]

    def state(question_id: int | None, reason: str) -> NextQuestion:
        return NextQuestion(
            question_id=question_id,
            done=question_id is None,
            reason=reason,
            adaptive=assessment.adaptive,
            theta=estimate.theta,
            standard_error=estimate.standard_error,
            n_scored=estimate.n_items,
            n_answered=len(answered),
            n_questions=len(questions),
        )

    if not remaining:
        return state(None, "all_answered")
    if not assessment.adaptive:
        return state(remaining[0].id, "next")
    target = assessment.adaptive_target_se or DEFAULT_TARGET_SE
    if should_stop(estimate, target_se=target, remaining=len(remaining)):
        return state(None, "target_se_reached")
    return state(most_informative(estimate.theta, {q.id: params[q.id] for q in remaining}), "next")


def next_question_id(session: Session, *, attempt: Attempt) -> int | None:
    return next_question_for(session, attempt=attempt).question_id


def next_question(session: Session, *, actor: Actor, attempt_id: int) -> NextQuestion:
    """The learner flow's entry point: the owner (or an admin) asks what comes next."""
    attempt, _responses = attempts.get_attempt(session, actor=actor, attempt_id=attempt_id)
    return next_question_for(session, attempt=attempt)
