"""Review queue: AI grades below the confidence threshold, graded by the assessment's author.
Also the learner flow's next question (adaptive assessments: maximum information)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from repo_api.deps import ActorDep, PageDep, SessionDep, SettingsDep
from repo_api.schemas.attempts import ResultPublic
from repo_api.schemas.common import ErrorBody, Page
from repo_api.schemas.reviews import (
    FeedbackPublic,
    GroupDecisionPublic,
    NextQuestionPublic,
    ReviewDone,
    ReviewGrade,
    ReviewGroupPage,
    ReviewGroupPublic,
    ReviewItemPublic,
    UndonePublic,
)
from repo_domain import attempts, grading, review_groups
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


@router.get("/review-groups", response_model=ReviewGroupPage, responses=_errors)
def list_review_groups(
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    assessment_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    after: Annotated[
        str | None, Query(max_length=40, description="`next_after` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 20,
) -> ReviewGroupPage:
    """Flagged AI grades as groups of look-alike answers, least confident and largest first."""
    page = review_groups.review_groups(
        session,
        actor=actor,
        assessment_id=assessment_id,
        after=after,
        limit=min(limit, settings.max_page_size),
    )
    return ReviewGroupPage(
        items=[ReviewGroupPublic.model_validate(g) for g in page.items],
        next_after=page.next_after,
    )


@router.post(
    "/review-groups/{group_id}",
    response_model=GroupDecisionPublic,
    responses={
        **_errors,
        404: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "nothing left to review (not_in_review)"},
        422: {"model": ErrorBody},
    },
)
def grade_review_group(
    group_id: Id, body: ReviewGrade, actor: ActorDep, session: SessionDep
) -> GroupDecisionPublic:
    """One score and comment for every flagged answer of the group; returns the decision's id,
    which undoes it."""
    decision = review_groups.review_group(
        session, actor=actor, group_id=group_id, score=body.score, comment=body.comment
    )
    return GroupDecisionPublic.model_validate(decision)


@router.post(
    "/review-decisions/{decision_id}/undo",
    response_model=UndonePublic,
    responses={
        **_errors,
        404: {"model": ErrorBody},
        409: {
            "model": ErrorBody,
            "description": "undone already (already_undone) or graded again since (changed_since)",
        },
    },
)
def undo_review_decision(decision_id: Id, actor: ActorDep, session: SessionDep) -> UndonePublic:
    """Take a group decision back: the AI grades return to the queue, the results are
    refreshed; refused if any of its answers was graded again since."""
    undone = review_groups.undo_review_group(session, actor=actor, decision_id=decision_id)
    return UndonePublic.model_validate(undone)


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
