"""Authoring (create/edit/publish/archive), the published catalogue, statistics."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import StreamingResponse

from repo_api.deps import ActorDep, EngineDep, PageDep, SessionDep
from repo_api.routes.authoring import MANAGED_ERRORS, AssessmentId, authoring_view, view_columns
from repo_api.schemas.assessments import (
    AssessmentAuthoring,
    AssessmentCreate,
    AssessmentPublic,
    AssessmentStats,
    AssessmentSummary,
    AssessmentUpdate,
    AttemptRegradeOut,
    ItemAnalysisOut,
    QuestionCreate,
    QuestionMove,
    QuestionVersionOut,
    RegradeOut,
)
from repo_api.schemas.common import ErrorBody, Page
from repo_db.models import AssessmentStatus
from repo_domain import assessments, item_analysis, regrade, results_export, stats
from repo_domain.assessments import OptionSpec, QuestionSpec
from repo_domain.validation import MAX_ID, SEARCH_QUERY_MAX

router = APIRouter(prefix="/assessments", tags=["assessments"])

QuestionId = Annotated[int, Path(ge=1, le=MAX_ID)]
_write_errors: dict[int | str, dict[str, Any]] = {
    **MANAGED_ERRORS,
    409: {"model": ErrorBody, "description": "wrong status for this change"},
    422: {"model": ErrorBody, "description": "invalid input; `field` names it"},
}
_question_errors: dict[int | str, dict[str, Any]] = {
    **_write_errors,
    404: {"model": ErrorBody, "description": "no such assessment, or no such question in it"},
    409: {"model": ErrorBody, "description": "questions change only while in draft"},
}
_correction_errors: dict[int | str, dict[str, Any]] = {
    **_question_errors,
    409: {"model": ErrorBody, "description": "the assessment is archived"},
    422: {
        "model": ErrorBody,
        "description": "invalid input, or a correction that changes the kind or the number of "
        "options; `field` names it",
    },
}


def _spec(question: QuestionCreate) -> QuestionSpec:
    return QuestionSpec(
        **question.model_dump(exclude={"options"}),
        options=tuple(OptionSpec(**option.model_dump()) for option in question.options),
    )


def _authoring_by_id(
    session: SessionDep, actor: ActorDep, assessment_id: int
) -> AssessmentAuthoring:
    assessment = assessments.get_managed(session, actor=actor, assessment_id=assessment_id)
    return authoring_view(session, assessment)


@router.get("", response_model=Page[AssessmentSummary], responses={401: {"model": ErrorBody}})
def list_published(
    _actor: ActorDep,
    session: SessionDep,
    page: PageDep,
    q: Annotated[
        str | None,
        Query(description=f"search title and description (up to {SEARCH_QUERY_MAX} characters)"),
    ] = None,
) -> Page[AssessmentSummary]:
    """The catalogue of published assessments, keyset-paginated by id."""
    result = assessments.list_published(session, query=q, after=page.after, limit=page.limit)
    return Page[AssessmentSummary](
        items=[AssessmentSummary.model_validate(a) for a in result.items],
        next_after=result.next_after,
    )


@router.get("/mine", response_model=Page[AssessmentSummary], responses=MANAGED_ERRORS)
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
    responses={**MANAGED_ERRORS, 422: _write_errors[422]},
)
def create(body: AssessmentCreate, actor: ActorDep, session: SessionDep) -> AssessmentAuthoring:
    """A draft with its settings and, optionally, all its questions at once."""
    assessment = assessments.create_assessment(
        session,
        actor=actor,
        title=body.title,
        description=body.description,
        time_limit_seconds=body.time_limit_seconds,
        pass_percent=body.pass_percent,
        questions=[_spec(q) for q in body.questions],
        max_attempts=body.max_attempts,
        show_answers=body.show_answers,
        closes_at=body.closes_at,
        adaptive=body.adaptive,
        adaptive_target_se=body.adaptive_target_se,
        adaptive_min_length=body.adaptive_min_length,
        adaptive_max_length=body.adaptive_max_length,
        adaptive_max_exposure=body.adaptive_max_exposure,
    )
    return authoring_view(session, assessment)


@router.get("/{assessment_id}", response_model=AssessmentPublic, responses=MANAGED_ERRORS)
def get_public(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep
) -> AssessmentPublic:
    """The test taker's view (no answers). Drafts are visible only to their managers."""
    assessment = assessments.get_visible(session, actor=actor, assessment_id=assessment_id)
    view = assessments.load_view(session, assessment=assessment)
    return AssessmentPublic.model_validate(view_columns(view))


@router.get("/{assessment_id}/full", response_model=AssessmentAuthoring, responses=MANAGED_ERRORS)
def get_full(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep
) -> AssessmentAuthoring:
    """The authoring view with correct answers: owning author or admin only."""
    assessment = assessments.get_managed(session, actor=actor, assessment_id=assessment_id)
    return authoring_view(session, assessment)


@router.patch("/{assessment_id}", response_model=AssessmentAuthoring, responses=_write_errors)
def update(
    assessment_id: AssessmentId, body: AssessmentUpdate, actor: ActorDep, session: SessionDep
) -> AssessmentAuthoring:
    """Change the settings sent; the others stay. Questions have their own routes below."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    assessment = assessments.update_assessment(
        session, actor=actor, assessment_id=assessment_id, **changes
    )
    return authoring_view(session, assessment)


@router.post(
    "/{assessment_id}/questions",
    response_model=AssessmentAuthoring,
    status_code=status.HTTP_201_CREATED,
    responses=_question_errors,
)
def add_question(
    assessment_id: AssessmentId, body: QuestionCreate, actor: ActorDep, session: SessionDep
) -> AssessmentAuthoring:
    """Append a question to a draft; the other questions are not touched."""
    assessments.add_question(session, actor=actor, assessment_id=assessment_id, spec=_spec(body))
    return _authoring_by_id(session, actor, assessment_id)


@router.put(
    "/{assessment_id}/questions/{question_id}",
    response_model=AssessmentAuthoring,
    responses=_correction_errors,
)
def change_question(
    assessment_id: AssessmentId,
    question_id: QuestionId,
    body: QuestionCreate,
    actor: ActorDep,
    session: SessionDep,
) -> AssessmentAuthoring:
    """Replace one question's content (options included); its id and position stay.

    In a draft, anything changes in place. In a published assessment this is a correction: a new
    version of the question (same kind, same number of options), which new attempts answer;
    submitted attempts keep their version until `POST .../regrade` moves them to it.
    """
    assessments.change_question(
        session, actor=actor, assessment_id=assessment_id, question_id=question_id, spec=_spec(body)
    )
    return _authoring_by_id(session, actor, assessment_id)


@router.get(
    "/{assessment_id}/questions/{question_id}/versions",
    response_model=list[QuestionVersionOut],
    responses=MANAGED_ERRORS,
)
def question_versions(
    assessment_id: AssessmentId, question_id: QuestionId, actor: ActorDep, session: SessionDep
) -> list[QuestionVersionOut]:
    """The question's versions, newest first (owning author or admin)."""
    rows = regrade.versions(
        session, actor=actor, assessment_id=assessment_id, question_id=question_id
    )
    return [
        QuestionVersionOut(
            version=v.version,
            created_at=v.created_at,
            created_by_id=v.created_by_id,
            answers=v.answers,
            content=v.content,
        )
        for v in rows
    ]


@router.post(
    "/{assessment_id}/questions/{question_id}/regrade",
    response_model=RegradeOut,
    responses=MANAGED_ERRORS,
)
def regrade_question(
    assessment_id: AssessmentId,
    question_id: QuestionId,
    actor: ActorDep,
    session: SessionDep,
    dry_run: Annotated[bool, Query(description="true: compute old and new, write nothing")] = True,
) -> RegradeOut:
    """Re-score the submitted attempts of a corrected question against its newest version:
    per affected attempt its old and new score (repo_domain.regrade has the rules). A dry run
    (the default) writes nothing; `dry_run=false` writes it all in one transaction."""
    report = regrade.regrade(
        session,
        actor=actor,
        assessment_id=assessment_id,
        question_id=question_id,
        dry_run=dry_run,
    )
    return RegradeOut(
        question_id=report.question_id,
        assessment_id=report.assessment_id,
        version=report.version,
        dry_run=report.dry_run,
        regraded_at=report.regraded_at,
        changed=report.changed,
        attempts=[
            AttemptRegradeOut(**dataclasses.asdict(a), changed=a.changed) for a in report.attempts
        ],
    )


@router.post(
    "/{assessment_id}/questions/{question_id}/move",
    response_model=AssessmentAuthoring,
    responses=_question_errors,
)
def move_question(
    assessment_id: AssessmentId,
    question_id: QuestionId,
    body: QuestionMove,
    actor: ActorDep,
    session: SessionDep,
) -> AssessmentAuthoring:
    """Move one question to a 0-based position; the ones in between shift by one."""
    assessments.move_question(
        session,
        actor=actor,
        assessment_id=assessment_id,
        question_id=question_id,
        position=body.position,
    )
    return _authoring_by_id(session, actor, assessment_id)


@router.delete(
    "/{assessment_id}/questions/{question_id}",
    response_model=AssessmentAuthoring,
    responses=_question_errors,
)
def delete_question(
    assessment_id: AssessmentId, question_id: QuestionId, actor: ActorDep, session: SessionDep
) -> AssessmentAuthoring:
    """Delete one question; the ones after it move up by one."""
    assessments.delete_question(
        session, actor=actor, assessment_id=assessment_id, question_id=question_id
    )
    return _authoring_by_id(session, actor, assessment_id)


@router.post(
    "/{assessment_id}/publish",
    response_model=AssessmentAuthoring,
    responses={**_write_errors, 422: {"model": ErrorBody, "description": "no questions"}},
)
def publish(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep
) -> AssessmentAuthoring:
    assessment = assessments.publish(session, actor=actor, assessment_id=assessment_id)
    return authoring_view(session, assessment)


@router.post(
    "/{assessment_id}/archive", response_model=AssessmentAuthoring, responses=_write_errors
)
def archive(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep
) -> AssessmentAuthoring:
    assessment = assessments.archive(session, actor=actor, assessment_id=assessment_id)
    return authoring_view(session, assessment)


@router.get("/{assessment_id}/stats", response_model=AssessmentStats, responses=MANAGED_ERRORS)
def assessment_stats(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep
) -> AssessmentStats:
    """Attempt counts, score distribution and per-question correct rate (SQL aggregates)."""
    data = stats.assessment_stats(session, actor=actor, assessment_id=assessment_id)
    return AssessmentStats.model_validate(data)


@router.get(
    "/{assessment_id}/item-analysis", response_model=ItemAnalysisOut, responses=MANAGED_ERRORS
)
def assessment_item_analysis(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep
) -> ItemAnalysisOut:
    """Per question: facility, discrimination index, corrected point-biserial, distractor shares,
    calibrated 2PL parameters; the test's Cronbach's alpha (KR-20). Graded attempts only."""
    report = item_analysis.item_analysis(session, actor=actor, assessment_id=assessment_id)
    return ItemAnalysisOut.model_validate(report)


@router.get(
    "/{assessment_id}/results.csv",
    response_class=StreamingResponse,
    responses={
        **MANAGED_ERRORS,
        200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV, BOM"},
    },
)
def results_csv(
    assessment_id: AssessmentId, actor: ActorDep, session: SessionDep, engine: EngineDep
) -> StreamingResponse:
    """One row per attempt, a column per question; streamed (formula cells start with ')."""
    export = results_export.results_export(session, actor=actor, assessment_id=assessment_id)
    return StreamingResponse(
        export.chunks(bind=engine),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
