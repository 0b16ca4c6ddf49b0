"""Computerized adaptive testing: which question a learner gets next, and when to stop.

For an assessment marked ``adaptive`` the next question is the unanswered one with maximum Fisher
information at the learner's current EAP ability estimate (from this attempt's scored answers),
using the item parameters that apps/ai calibrated (uncalibrated questions count as b=0, a=1).
The test stops when the estimate's standard error falls to the assessment's target (or the
questions run out). Other assessments have no order: learners answer their questions as they like.
The rule that an adaptive attempt takes only the served question, once, is enforced by
``attempts.save_response``; ``attempts.next_question`` is the learner's read model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from repo_db.models import Assessment, Attempt, AttemptStatus, ItemParameter, Response
from repo_domain import results
from repo_domain.assessments import AssessmentView, load_view
from repo_domain.irt import (
    UNCALIBRATED_DIFFICULTY,
    AbilityEstimate,
    ItemParams,
    estimate_ability,
    information_many,
)

#: Stop an adaptive test once SE(theta) is at most this (about a 20-item fixed form's precision).
DEFAULT_TARGET_SE = 0.35


class Reason(StrEnum):
    """Why an adaptive attempt serves a question or stops."""

    NEXT = "next"
    TARGET_SE_REACHED = "target_se_reached"
    ALL_ANSWERED = "all_answered"
    SUBMITTED = "submitted"


@dataclass(frozen=True, slots=True)
class Plan:
    """The question to serve next (None when done) and why. Internal: the ability estimate
    it came from stays in the domain (a learner would read their right and wrong answers off it)."""

    question_id: int | None
    reason: Reason
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


def scored_answers(view: AssessmentView, responses: Mapping[int, Response]) -> dict[int, bool]:
    """Question id -> correct, for the answers that have a score already: objective ones are
    scored as the result will score them (repo_domain.results), free text once graded."""
    scored: dict[int, bool] = {}
    for question in view.questions:
        response = responses.get(question.id)
        if response is None:
            continue
        score = results.score_question(question, view.options[question.id], response)
        if score.is_correct is not None:
            scored[question.id] = score.is_correct
    return scored


def plan(session: Session, *, attempt: Attempt, view: AssessmentView | None = None) -> Plan:
    """What an adaptive ``attempt`` serves next (no permission check: callers have done it)."""
    if view is None:
        assessment = session.get(Assessment, attempt.assessment_id)
        assert assessment is not None  # attempts.assessment_id is a foreign key
        view = load_view(session, assessment=assessment)
    questions = view.questions
    responses = {
        r.question_id: r
        for r in session.scalars(select(Response).where(Response.attempt_id == attempt.id))
    }

    def state(question_id: int | None, reason: Reason) -> Plan:
        return Plan(question_id, reason, len(responses), len(questions))

    if attempt.status != AttemptStatus.IN_PROGRESS:
        return state(None, Reason.SUBMITTED)
    remaining = [q for q in questions if q.id not in responses]
    if not remaining:
        return state(None, Reason.ALL_ANSWERED)
    scored = scored_answers(view, responses)
    params = load_item_params(session, [q.id for q in questions])
    ids = sorted(scored)
    estimate = estimate_ability([scored[q] for q in ids], [params[q] for q in ids])
    target = view.assessment.adaptive_target_se or DEFAULT_TARGET_SE
    if should_stop(estimate, target_se=target, remaining=len(remaining)):
        return state(None, Reason.TARGET_SE_REACHED)
    return state(
        most_informative(estimate.theta, {q.id: params[q.id] for q in remaining}), Reason.NEXT
    )
