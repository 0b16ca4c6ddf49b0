"""Review queue: AI grades below the confidence threshold, graded by the assessment's author.
Also the learner flow's next question (adaptive assessments: maximum information)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from repo_api.deps import ActorDep, PageDep, SessionDep
from repo_api.schemas.attempts import ResultPublic
from repo_api.schemas.common import ErrorBody, Page
from repo_api.schemas.reviews import (
    FeedbackPublic,
    NextQuestionPublic,
    ReviewDone,
    ReviewGrade,
    ReviewItemPublic,
)
from repo_domain import attempts, grading
from repo_domain.validation import MAX_ID

router = APIRouter(tags=["reviews"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
_errors: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "not the assessment's author or an admin"},
}


@router.get("/reviews", response_model=Page[ReviewItemPublic], responses=_errors)
def list_reviews(
    actor: ActorDep,
    session: SessionDep,
    page: PageDep,
    assessment_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[ReviewItemPublic]:
    """Flagged AI grades on the caller's assessments (admins: all), oldest first."""
    result = grading.review_queue(
        session, actor=actor, assessment_id=assessment_id, after=page.after, limit=page.limit
    )
    return Page[ReviewItemPublic](
        items=[ReviewItemPublic.model_validate(i) for i in result.items],
        next_after=result.next_after,
    )


@router.post(
    "/reviews/{feedback_id}",
    response_model=ReviewDone,
    responses={
        **_errors,
        404: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "already reviewed"},
        422: {"model": ErrorBody},
    },
)
def grade_review(
    feedback_id: Id, body: ReviewGrade, actor: ActorDep, session: SessionDep
) -> ReviewDone:
    """Grade a flagged answer: the author's points replace the AI's, the result is refreshed."""
    feedback, result = grading.review(
        session, actor=actor, feedback_id=feedback_id, score=body.score, comment=body.comment
    )
    return ReviewDone(
        feedback=FeedbackPublic.model_validate(feedback), result=ResultPublic.of(result)
    )


@router.get(
    "/attempts/{attempt_id}/next-question",
    response_model=NextQuestionPublic,
    responses={
        **_errors,
        404: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "not an adaptive assessment (not_adaptive)"},
    },
)
def next_question(attempt_id: Id, actor: ActorDep, session: SessionDep) -> NextQuestionPublic:
    """Adaptive assessments: the question to answer now (maximum information), or done."""
    state = attempts.next_question(session, actor=actor, attempt_id=attempt_id)
    return NextQuestionPublic.model_validate(state)


@router.get(
    "/attempts/{attempt_id}/feedback",
    response_model=list[FeedbackPublic],
    responses={**_errors, 404: {"model": ErrorBody}},
)
def attempt_feedback(attempt_id: Id, actor: ActorDep, session: SessionDep) -> list[FeedbackPublic]:
    """Grades and feedback on the attempt's free-text answers (AI and reviewers); empty for a
    learner until the assessment's show_answers policy allows them."""
    rows = grading.feedback_for_attempt(session, actor=actor, attempt_id=attempt_id)
    return [FeedbackPublic.model_validate(f) for f in rows]
