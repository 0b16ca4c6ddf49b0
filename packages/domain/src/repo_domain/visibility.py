"""The one answer-visibility policy, and the learner-facing views it shapes.

Who may see what depends on whether an answer was correct (scores, percent, pass/fail,
per-question correctness, grader feedback)? Managers of the assessment (its author, admins)
always. A learner only when the assessment's ``show_answers`` allows it:

* ``never``: never;
* ``after_last_attempt``: once they have used their last allowed attempt (so never with
  unlimited retakes: every result would be a free look at the key for the next try);
* ``after_close``: once the close date has passed;

and in no case while one of their attempts on that assessment is still in progress (an attempt
started before the close date, or the last one, must not be answered with the key at hand).

Every read model a learner can fetch (API and web: attempt, saved answer, submit, result,
history, dashboard, feedback) builds its view through this module, so hiding is decided once.
Hidden views still say what is not about correctness: that an attempt is submitted, whether
grading is pending or complete, which questions were answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from repo_db.models import (
    Assessment,
    Attempt,
    AttemptStatus,
    Feedback,
    Response,
    Result,
    Role,
    ShowAnswers,
)
from repo_domain.common import Actor, as_utc, utcnow


@dataclass(frozen=True, slots=True)
class AnswerPolicy:
    """The columns of an assessment the policy reads."""

    assessment_id: int
    author_id: int
    show_answers: str
    max_attempts: int | None
    closes_at: datetime | None

    @classmethod
    def of(cls, assessment: Assessment) -> AnswerPolicy:
        return cls(
            assessment.id,
            assessment.author_id,
            assessment.show_answers,
            assessment.max_attempts,
            assessment.closes_at,
        )


@dataclass(frozen=True, slots=True)
class AttemptCounts:
    """A learner's attempts on one assessment."""

    finished: int = 0
    in_progress: int = 0


def is_manager(actor: Actor, *, author_id: int) -> bool:
    """The owning author or an admin."""
    return actor.is_admin or (actor.role == Role.AUTHOR and author_id == actor.id)


def _needs_counts(policy: AnswerPolicy, now: datetime) -> bool:
    """Can the learner's attempts still change the answer? (else no query is needed)"""
    if policy.show_answers == ShowAnswers.AFTER_LAST_ATTEMPT:
        return policy.max_attempts is not None
    if policy.show_answers == ShowAnswers.AFTER_CLOSE:
        return policy.closes_at is not None and now >= as_utc(policy.closes_at)
    return False


def decide(
    actor: Actor, policy: AnswerPolicy, counts: AttemptCounts | None, *, now: datetime
) -> bool:
    """The policy itself (pure). ``counts`` may be None when :func:`_needs_counts` is false."""
    if is_manager(actor, author_id=policy.author_id):
        return True
    if not _needs_counts(policy, now):
        return False
    assert counts is not None, "the policy needs the learner's attempt counts"
    if counts.in_progress:
        return False
    if policy.show_answers == ShowAnswers.AFTER_LAST_ATTEMPT:
        return policy.max_attempts is not None and counts.finished >= policy.max_attempts
    return True  # after_close, and the close date has passed


def attempt_counts(
    session: Session, *, user_id: int, assessment_ids: Iterable[int]
) -> dict[int, AttemptCounts]:
    """The learner's finished and in-progress attempts per assessment (one query)."""
    ids = sorted(set(assessment_ids))
    if not ids:
        return {}
    in_progress = func.sum(case((Attempt.status == AttemptStatus.IN_PROGRESS, 1), else_=0))
    rows = session.execute(
        select(Attempt.assessment_id, func.count(), in_progress)
        .where(Attempt.user_id == user_id, Attempt.assessment_id.in_(ids))
        .group_by(Attempt.assessment_id)
    ).all()
    counts = {aid: AttemptCounts() for aid in ids}
    for aid, total, running in rows:
        counts[aid] = AttemptCounts(
            finished=int(total) - int(running or 0), in_progress=int(running or 0)
        )
    return counts


def answers_visible(
    session: Session, *, actor: Actor, assessment: Assessment, user_id: int
) -> bool:
    """May ``actor`` see what depends on correctness in ``user_id``'s attempts on ``assessment``?"""
    return visible_many(
        session, actor=actor, user_id=user_id, policies=[AnswerPolicy.of(assessment)]
    )[assessment.id]


def visible_many(
    session: Session, *, actor: Actor, user_id: int, policies: Iterable[AnswerPolicy]
) -> dict[int, bool]:
    """:func:`answers_visible` for several assessments of one learner: at most one query."""
    now = utcnow()
    unique = {p.assessment_id: p for p in policies}
    needing = [
        p.assessment_id
        for p in unique.values()
        if not is_manager(actor, author_id=p.author_id) and _needs_counts(p, now)
    ]
    counts = attempt_counts(session, user_id=user_id, assessment_ids=needing)
    return {aid: decide(actor, p, counts.get(aid), now=now) for aid, p in unique.items()}


# --- Views: what an adapter may show. Hidden fields are None; the rest is passed through. ---


@dataclass(frozen=True, slots=True)
class ResponseView:
    id: int
    question_id: int
    selected_option_ids: list[int] | None
    numeric_value: float | None
    text_value: str | None
    is_correct: bool | None
    score: float | None
    grading_status: str
    updated_at: datetime


def response_view(response: Response, *, visible: bool) -> ResponseView:
    return ResponseView(
        id=response.id,
        question_id=response.question_id,
        selected_option_ids=response.selected_option_ids,
        numeric_value=response.numeric_value,
        text_value=response.text_value,
        is_correct=response.is_correct if visible else None,
        score=response.score if visible else None,
        grading_status=response.grading_status,
        updated_at=response.updated_at,
    )


class ResultStatus(StrEnum):
    """``pending`` until every free-text answer has a grade: no provisional verdict."""

    PENDING = "pending"
    FINAL = "final"


@dataclass(frozen=True, slots=True)
class ResultView:
    """A result as ``actor`` may see it. ``final``: every answer has a grade (not about
    correctness, so always shown); ``passed`` is None while pending or hidden."""

    id: int
    attempt_id: int
    user_id: int
    assessment_id: int
    answers_visible: bool
    score: float | None
    max_score: float
    percent: float | None
    passed: bool | None
    pending: int
    questions: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    regraded_at: datetime | None = None  # a corrected question re-scored it (repo_domain.regrade)

    @property
    def final(self) -> bool:
        return self.pending == 0

    @property
    def status(self) -> ResultStatus:
        return ResultStatus.FINAL if self.final else ResultStatus.PENDING

    @property
    def details(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "pending": self.pending,
            "answers_hidden": not self.answers_visible,
        }


def result_view(result: Result, *, visible: bool) -> ResultView:
    details = result.details or {}
    questions = [dict(q) for q in details.get("questions", [])]
    if not visible:
        questions = [{**q, "is_correct": None, "score": None} for q in questions]
    return ResultView(
        id=result.id,
        attempt_id=result.attempt_id,
        user_id=result.user_id,
        assessment_id=result.assessment_id,
        answers_visible=visible,
        score=result.score if visible else None,
        max_score=result.max_score,
        percent=result.percent if visible else None,
        passed=result.passed if visible else None,
        pending=int(details.get("pending", 0)),
        questions=questions,
        created_at=result.created_at,
        updated_at=result.updated_at,
        regraded_at=result.regraded_at,
    )


@dataclass(frozen=True, slots=True)
class FeedbackView:
    id: int
    response_id: int
    source: str
    score: float | None
    confidence: float | None
    needs_review: bool
    comment: str
    model_version: str
    reviewer_id: int | None
    created_at: datetime


def feedback_views(rows: Iterable[Feedback], *, visible: bool) -> list[FeedbackView]:
    """Grader feedback, or nothing while answers are hidden: its score and words are the grade,
    and even the number of entries tells whether a teacher re-graded an unsure AI grade."""
    if not visible:
        return []
    return [
        FeedbackView(
            id=f.id,
            response_id=f.response_id,
            source=f.source,
            score=f.score,
            confidence=f.confidence,
            needs_review=f.needs_review,
            comment=f.comment,
            model_version=f.model_version,
            reviewer_id=f.reviewer_id,
            created_at=f.created_at,
        )
        for f in rows
    ]


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    """The totals of a history or dashboard row (None: not submitted yet, or hidden)."""

    answers_visible: bool
    score: float | None
    max_score: float | None
    percent: float | None
    passed: bool | None


def score_summary(
    *,
    visible: bool,
    score: float | None,
    max_score: float | None,
    percent: float | None,
    passed: bool | None,
) -> ScoreSummary:
    return ScoreSummary(
        answers_visible=visible,
        score=score if visible else None,
        max_score=max_score,
        percent=percent if visible else None,
        passed=passed if visible else None,
    )


def policies_of(rows: Iterable[Any]) -> Mapping[int, AnswerPolicy]:
    """Policies from rows carrying the assessment's policy columns (history, dashboard)."""
    return {
        r.assessment_id: AnswerPolicy(
            r.assessment_id, r.author_id, r.show_answers, r.max_attempts, r.closes_at
        )
        for r in rows
    }


__all__ = [
    "AnswerPolicy",
    "AttemptCounts",
    "FeedbackView",
    "ResponseView",
    "ResultStatus",
    "ResultView",
    "ScoreSummary",
    "answers_visible",
    "attempt_counts",
    "decide",
    "feedback_views",
    "is_manager",
    "policies_of",
    "response_view",
    "result_view",
    "score_summary",
    "visible_many",
]
