"""Grades of free-text answers (AI worker or author review), final results and the review queue.

A result is final only when every free-text answer has a grade: until then ``passed`` is None
(pending), never a provisional pass or fail. Background work is queued in repo_db's work queue:
``grade_attempt`` when an attempt is submitted with free text, ``estimate_ability`` once it is
graded (apps/ai's worker does both).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from repo_db import jobs
from repo_db.models import (
    Assessment,
    Attempt,
    AttemptStatus,
    Feedback,
    FeedbackSource,
    GradingStatus,
    Question,
    Response,
    Result,
)
from repo_domain import results, validation, visibility
from repo_domain.assessments import load_view
from repo_domain.common import Actor, KeysetPage, keyset_page, utcnow
from repo_domain.errors import Conflict, Forbidden, NotFound
from repo_domain.results import CORRECT_FRACTION
from repo_domain.validation import REVIEW_COMMENT_MAX
from repo_domain.visibility import FeedbackView, ResultView

GRADE_ATTEMPT = "grade_attempt"
ESTIMATE_ABILITY = "estimate_ability"


def on_submitted(session: Session, *, attempt: Attempt) -> None:
    """Queue the background work a submitted attempt needs."""
    kind = GRADE_ATTEMPT if attempt.status == AttemptStatus.GRADING else ESTIMATE_ABILITY
    jobs.enqueue(session, kind=kind, subject_id=attempt.id)


def refresh_result(session: Session, *, attempt_id: int) -> Result:
    """Recompute an attempt's result (repo_domain.results, as submit computed it); final once
    nothing is pending. Internal: callers that show it build a view (repo_domain.visibility)."""
    attempt = session.get(Attempt, attempt_id)
    result = session.scalar(select(Result).where(Result.attempt_id == attempt_id))
    if attempt is None or result is None:
        raise NotFound("no result for this attempt")
    assessment = session.get(Assessment, attempt.assessment_id)
    assert assessment is not None  # attempts.assessment_id is a foreign key
    view = load_view(session, assessment=assessment)
    responses = {
        r.question_id: r
        for r in session.scalars(select(Response).where(Response.attempt_id == attempt_id))
    }
    computed = results.compute(
        assessment=assessment, questions=view.questions, options=view.options, responses=responses
    )
    results.apply(computed, result=result, responses=responses)
    if not computed.pending and attempt.status == AttemptStatus.GRADING:
        attempt.status = AttemptStatus.GRADED
        jobs.enqueue(session, kind=ESTIMATE_ABILITY, subject_id=attempt.id)
    session.flush()
    return result


def record_grade(
    session: Session,
    *,
    response: Response,
    question: Question,
    fraction: float,
    comment: str,
    source: FeedbackSource,
    model_version: str,
    confidence: float | None = None,
    needs_review: bool = False,
    reviewer_id: int | None = None,
) -> Feedback:
    """Store a grade (share of the question's points, 0..1) with its feedback on one answer."""
    fraction = min(max(fraction, 0.0), 1.0)
    feedback = Feedback(
        response_id=response.id,
        source=source,
        score=round(fraction * question.points, 4),
        comment=comment,
        model_version=model_version,
        confidence=confidence,
        needs_review=needs_review,
        reviewer_id=reviewer_id,
        created_at=utcnow(),
    )
    session.add(feedback)
    set_response_grade(response, score=feedback.score, fraction=fraction)
    session.flush()
    return feedback


def set_response_grade(response: Response, *, score: float | None, fraction: float) -> None:
    """The answer's marks and correctness from a grade (one rule for grading and undo)."""
    response.score = score
    response.is_correct = fraction >= CORRECT_FRACTION
    response.grading_status = GradingStatus.GRADED
    response.updated_at = utcnow()


def refresh_after_review(session: Session, *, attempt_id: int) -> Result:
    """After an author changed a grade: refresh the result and, once the attempt is graded,
    queue the learner's ability estimate (once per attempt: the queue ignores repeats)."""
    result = refresh_result(session, attempt_id=attempt_id)
    attempt = session.get(Attempt, attempt_id)
    if attempt is not None and attempt.status == AttemptStatus.GRADED:
        jobs.enqueue(session, kind=ESTIMATE_ABILITY, subject_id=attempt.id)
    return result


@dataclass(frozen=True, slots=True)
class ReviewItem:
    feedback_id: int
    response_id: int
    attempt_id: int
    assessment_id: int
    question_id: int
    prompt: str
    reference_answer: str | None
    answer: str
    points: float
    ai_score: float | None
    confidence: float | None
    comment: str
    created_at: datetime

    @property
    def id(self) -> int:
        return self.feedback_id


def review_queue(
    session: Session, *, actor: Actor, assessment_id: int | None, after: int | None, limit: int
) -> KeysetPage[ReviewItem]:
    """AI grades flagged for review on the actor's assessments (admins: all), oldest first."""
    if not actor.can_author:
        raise Forbidden("only authors and admins review grades")
    stmt = (
        select(Feedback, Response, Question, Attempt.assessment_id)
        .join(Response, Response.id == Feedback.response_id)
        .join(Question, Question.id == Response.question_id)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .where(Feedback.needs_review.is_(True))
        .order_by(Feedback.id)
        .limit(limit + 1)
    )
    if not actor.is_admin:
        stmt = stmt.where(Assessment.author_id == actor.id)
    if assessment_id is not None:
        stmt = stmt.where(Assessment.id == assessment_id)
    if after is not None:
        stmt = stmt.where(Feedback.id > after)
    items = [
        ReviewItem(
            feedback_id=fb.id,
            response_id=resp.id,
            attempt_id=resp.attempt_id,
            assessment_id=aid,
            question_id=q.id,
            prompt=q.prompt,
            reference_answer=q.reference_answer,
            answer=resp.text_value or "",
            points=q.points,
            ai_score=fb.score,
            confidence=fb.confidence,
            comment=fb.comment,
            created_at=fb.created_at,
        )
        for fb, resp, q, aid in session.execute(stmt).all()
    ]
    return keyset_page(items, limit=limit, key="feedback_id")


def review(
    session: Session, *, actor: Actor, feedback_id: int, score: float, comment: str
) -> tuple[FeedbackView, ResultView]:
    """An author grades a flagged answer: their score (points) replaces the AI's suggestion.
    Returns the new grade and the refreshed result, as the reviewer (a manager) sees them."""
    row = session.execute(
        select(Feedback, Response, Question, Assessment)
        .join(Response, Response.id == Feedback.response_id)
        .join(Question, Question.id == Response.question_id)
        .join(Assessment, Assessment.id == Question.assessment_id)
        .where(Feedback.id == feedback_id)
    ).one_or_none()
    if row is None:
        raise NotFound("feedback not found")
    flagged, response, question, assessment = row
    if not visibility.is_manager(actor, author_id=assessment.author_id):
        raise Forbidden("only the assessment's author or an admin may grade it")
    if not flagged.needs_review:
        raise Conflict("this grade is not awaiting review", code="not_in_review")
    score = validation.number(score, field="score", minimum=0.0, maximum=question.points)
    comment = validation.text(
        comment, field="comment", max_length=REVIEW_COMMENT_MAX, multiline=True
    )
    # Conditional UPDATE: two reviewers racing on the same item, one wins.
    won = session.execute(
        update(Feedback)
        .where(Feedback.id == flagged.id, Feedback.needs_review.is_(True))
        .values(needs_review=False)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this grade is not awaiting review", code="not_in_review")
    flagged.needs_review = False
    human = record_grade(
        session,
        response=response,
        question=question,
        fraction=score / question.points if question.points else 0.0,
        comment=comment,
        source=FeedbackSource.HUMAN,
        model_version=f"reviewer:{actor.id}",
        confidence=1.0,
        reviewer_id=actor.id,
    )
    result = refresh_after_review(session, attempt_id=response.attempt_id)
    # The reviewer manages the assessment (checked above): the policy shows them everything.
    [view] = visibility.feedback_views([human], visible=True)
    return view, visibility.result_view(result, visible=True)


def feedback_for_attempt(session: Session, *, actor: Actor, attempt_id: int) -> list[FeedbackView]:
    """The grades and feedback on an attempt's answers, oldest first, as ``actor`` may see them:
    for the learner who made it (per the answer-visibility policy), the assessment's author and
    admins."""
    row = session.execute(
        select(Attempt, Assessment)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .where(Attempt.id == attempt_id)
    ).one_or_none()
    if row is None:
        raise NotFound("attempt not found")
    attempt, assessment = row
    if actor.id != attempt.user_id and not visibility.is_manager(
        actor, author_id=assessment.author_id
    ):
        raise Forbidden("this attempt belongs to another user")
    visible = visibility.answers_visible(
        session, actor=actor, assessment=assessment, user_id=attempt.user_id
    )
    if not visible:
        return []
    rows = session.scalars(
        select(Feedback)
        .join(Response, Response.id == Feedback.response_id)
        .where(Response.attempt_id == attempt_id)
        .order_by(Feedback.id)
    )
    return visibility.feedback_views(rows, visible=visible)
