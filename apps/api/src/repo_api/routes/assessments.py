"""Authoring (create/edit/publish/archive), the published catalogue, statistics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from repo_api.deps import ActorDep, PageDep, SessionDep
from repo_api.schemas.assessments import (
    AssessmentAuthoring,
    AssessmentCreate,
    AssessmentPublic,
    AssessmentStats,
    AssessmentSummary,
    AssessmentUpdate,
    QuestionCreate,
)
from repo_api.schemas.common import MAX_ID, ErrorBody, Page, SafeStr
from repo_db.models import AssessmentStatus
from repo_domain import assessments, stats
from repo_domain.assessments import AssessmentView, OptionSpec, QuestionSpec

router = APIRouter(prefix="/assessments", tags=["assessments"])

AssessmentId = Annotated[int, Path(ge=1, le=MAX_ID)]
_errors: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "not the owning author or an admin"},
    404: {"model": ErrorBody},
}
_write_errors: dict[int | str, dict[str, Any]] = {
    **_errors,
    409: {"model": ErrorBody, "description": "wrong status for this change"},
}


def _specs(questions: list[QuestionCreate]) -> list[QuestionSpec]:
    return [
        QuestionSpec(
            kind=q.kind,
            prompt=q.prompt,
            points=q.points,
            numeric_answer=q.numeric_answer,
            numeric_tolerance=q.numeric_tolerance,
            reference_answer=q.reference_answer,
            rubric_keywords=q.rubric_keywords,
            options=tuple(OptionSpec(text=o.text, is_correct=o.is_correct) for o in q.options),
        )
        for q in questions
    ]


def _view_dict(view: AssessmentView) -> dict[str, Any]:
    data = AssessmentSummary.model_validate(view.assessment).model_dump()
    data["questions"] = [
        {
            "id": q.id,
            "position": q.position,
            "kind": q.kind,
            "prompt": q.prompt,
            "points": q.points,
            "numeric_answer": q.numeric_answer,
            "numeric_tolerance": q.numeric_tolerance,
            "reference_answer": q.reference_answer,
            "rubric_keywords": q.rubric_keywords,
            "options": [
                {"id": o.id, "position": o.position, "text": o.text, "is_correct": o.is_correct}
                for o in view.options[q.id]
            ],
        }
        for q in view.questions
    ]
    return data


def _authoring(session: SessionDep, assessment: Any) -> AssessmentAuthoring:
    view = assessments.load_view(session, assessment=assessment)
    return AssessmentAuthoring.model_validate(_view_dict(view))


@router.get("", response_model=Page[AssessmentSummary], responses={401: {"model": ErrorBody}})
def list_published(
    _actor: ActorDep,
    session: SessionDep,
    page: PageDep,
    q: Annotated[
        SafeStr | None, Query(max_length=100, description="search title and description")
    ] = None,
) -> Page[AssessmentSummary]:
    """The catalogue of published assessments, keyset-paginated by id."""
    result = assessments.list_published(session, query=q, after=page.after, limit=page.limit)
    return Page[AssessmentSummary](
        items=[AssessmentSummary.model_validate(a) for a in result.items],
        next_after=result.next_after,
    )


@router.get("/mine", response_model=Page[AssessmentSummary], responses=_errors)
def list_managed(
    actor: ActorDep,
    session: SessionDep,
    page: PageDep,
    status_filter: Annotated[AssessmentStatus | None, Query(alias="status")] = None,
) -> Page[AssessmentSummary]:
    """Authors: their own assessments in every status. Admins: everybody's."""
    result = assessments.list_managed(
        session, actor=actor, status=status_filter, after=page.after, limit=page.limit
    )
    return Page[AssessmentSummary](
        items=[AssessmentSummary.model_validate(a) for a in result.items],
        next_after=result.next_after,
    )


@router.post(
    "",
    response_model=AssessmentAuthoring,
    status_code=status.HTTP_201_CREATED,
    responses=_errors,
)
def create(body: AssessmentCreate, actor: ActorDep, session: SessionDep) -> AssessmentAuthoring:
    assessment = assessments.create_assessment(
        session,
        actor=actor,
        title=body.title,
        description=body.description,
        time_limit_seconds=body.time_limit_seconds,
        pass_percent=body.pass_percent,
        questions=_specs(body.questions),
        max_attempts=body.max_attempts,
        show_answers=body.show_answers,
        closes_at=body.closes_at,
        adaptive=body.adaptive,
        adaptive_target_se=body.adaptive_target_se,
    )
    return _authoring(session, assessment)


@router.get("/{assessment_id}", response_model=AssessmentPublic, responses=_errors)
def get_public(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep
) -> AssessmentPublic:
    """The test taker's view (no answers). Drafts are visible only to their managers."""
    assessment = assessments.get_visible(session, actor=actor, assessment_id=assessment_id)
    view = assessments.load_view(session, assessment=assessment)
    return AssessmentPublic.model_validate(_view_dict(view))


@router.get("/{assessment_id}/full", response_model=AssessmentAuthoring, responses=_errors)
def get_full(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep
) -> AssessmentAuthoring:
    """The authoring view with correct answers: owning author or admin only."""
    assessment = assessments.get_managed(session, actor=actor, assessment_id=assessment_id)
    return _authoring(session, assessment)


@router.patch("/{assessment_id}", response_model=AssessmentAuthoring, responses=_write_errors)
def update(
    assessment_id: AssessmentId, body: AssessmentUpdate, actor: ActorDep, session: SessionDep
) -> AssessmentAuthoring:
    assessment = assessments.update_assessment(
        session,
        actor=actor,
        assessment_id=assessment_id,
        title=body.title,
        description=body.description,
        time_limit_seconds=body.time_limit_seconds,
        pass_percent=body.pass_percent,
        questions=None if body.questions is None else _specs(body.questions),
        max_attempts=body.max_attempts,
        show_answers=body.show_answers,
        closes_at=body.closes_at,
    )
    return _authoring(session, assessment)


@router.post(
    "/{assessment_id}/publish",
    response_model=AssessmentAuthoring,
    responses={**_write_errors, 422: {"model": ErrorBody, "description": "no questions"}},
)
def publish(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep
) -> AssessmentAuthoring:
    assessment = assessments.publish(session, actor=actor, assessment_id=assessment_id)
    return _authoring(session, assessment)


@router.post(
    "/{assessment_id}/archive", response_model=AssessmentAuthoring, responses=_write_errors
)
def archive(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep
) -> AssessmentAuthoring:
    assessment = assessments.archive(session, actor=actor, assessment_id=assessment_id)
    return _authoring(session, assessment)


@router.get("/{assessment_id}/stats", response_model=AssessmentStats, responses=_errors)
def assessment_stats(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep
) -> AssessmentStats:
    """Attempt counts, score distribution and per-question correct rate (SQL aggregates)."""
    data = stats.assessment_stats(session, actor=actor, assessment_id=assessment_id)
    return AssessmentStats.model_validate(data)
