"""Attempts: start, save responses, submit, result, history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from repo_api.deps import ActorDep, PageDep, SessionDep
from repo_api.schemas.attempts import (
    AttemptDetail,
    AttemptPublic,
    HistoryItem,
    ResponsePublic,
    ResponseSave,
    ResultPublic,
    SubmitPublic,
)
from repo_api.schemas.common import ErrorBody, Page
from repo_domain import attempts
from repo_domain.attempts import Answer
from repo_domain.validation import MAX_ID

router = APIRouter(tags=["attempts"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
_errors: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "another user's attempt"},
    404: {"model": ErrorBody},
}
_write_errors: dict[int | str, dict[str, Any]] = {
    **_errors,
    409: {"model": ErrorBody, "description": "already submitted / time is up"},
}


@router.post(
    "/assessments/{assessment_id}/attempts",
    response_model=AttemptPublic,
    status_code=status.HTTP_201_CREATED,
    responses={**_write_errors, 200: {"model": AttemptPublic, "description": "resumed"}},
)
def start(
    assessment_id: Id, actor: ActorDep, session: SessionDep, response: Response
) -> AttemptPublic:
    """Start an attempt on a published assessment; an unfinished one is resumed (200)."""
    attempt, created = attempts.start_attempt(session, actor=actor, assessment_id=assessment_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return AttemptPublic.model_validate(attempt)


@router.get("/attempts", response_model=Page[HistoryItem], responses=_errors)
def history(
    actor: ActorDep,
    session: SessionDep,
    page: PageDep,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="admins only")] = None,
) -> Page[HistoryItem]:
    """The caller's attempts with their results, oldest first (keyset by attempt id)."""
    result = attempts.history(
        session, actor=actor, user_id=user_id, after=page.after, limit=page.limit
    )
    return Page[HistoryItem](
        items=[HistoryItem.model_validate(item) for item in result.items],
        next_after=result.next_after,
    )


@router.get("/attempts/{attempt_id}", response_model=AttemptDetail, responses=_errors)
def get_attempt(attempt_id: Id, actor: ActorDep, session: SessionDep) -> AttemptDetail:
    """The attempt and its saved answers; correctness only as show_answers allows."""
    detail = attempts.attempt_detail(session, actor=actor, attempt_id=attempt_id)
    data = AttemptPublic.model_validate(detail.attempt).model_dump()
    data["answers_visible"] = detail.answers_visible
    data["responses"] = [ResponsePublic.model_validate(r) for r in detail.responses]
    return AttemptDetail.model_validate(data)


@router.put(
    "/attempts/{attempt_id}/responses/{question_id}",
    response_model=ResponsePublic,
    responses={
        **_errors,
        409: {
            "model": ErrorBody,
            "description": "already submitted / time is up / adaptive: not the served question"
            " (adaptive_not_served) or an answer already given (adaptive_answer_final)",
        },
        422: {"model": ErrorBody},
    },
)
def save_response(
    attempt_id: Id, question_id: Id, body: ResponseSave, actor: ActorDep, session: SessionDep
) -> ResponsePublic:
    """Save (or overwrite) one answer. Idempotent: the same body twice changes nothing."""
    saved, _changed = attempts.save_response(
        session,
        actor=actor,
        attempt_id=attempt_id,
        question_id=question_id,
        answer=Answer(
            selected_option_ids=body.selected_option_ids,
            numeric_value=body.numeric_value,
            text_value=body.text_value,
        ),
    )
    return ResponsePublic.model_validate(saved)


@router.post("/attempts/{attempt_id}/submit", response_model=SubmitPublic, responses=_write_errors)
def submit(attempt_id: Id, actor: ActorDep, session: SessionDep) -> SubmitPublic:
    """Submit once; objective questions are scored now, free text goes to AI grading."""
    attempt, result = attempts.submit(session, actor=actor, attempt_id=attempt_id)
    return SubmitPublic(
        attempt=AttemptPublic.model_validate(attempt), result=ResultPublic.of(result)
    )


@router.get("/attempts/{attempt_id}/result", response_model=ResultPublic, responses=_errors)
def get_result(attempt_id: Id, actor: ActorDep, session: SessionDep) -> ResultPublic:
    """The result; scores and correctness only as show_answers allows."""
    return ResultPublic.of(attempts.get_result(session, actor=actor, attempt_id=attempt_id))
