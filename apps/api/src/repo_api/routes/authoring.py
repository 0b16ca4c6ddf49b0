"""What the assessment routes (authoring, QTI) share: the id path parameter, the errors of a route
on an assessment its author manages, and the views of an assessment built from every column of
its questions and options (the schema filters), such as the authoring view both answer with."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from sqlalchemy.orm import Session

from repo_api.schemas.assessments import AssessmentAuthoring, AssessmentSummary
from repo_api.schemas.common import ErrorBody
from repo_db.models import AnswerOption, Assessment, Question
from repo_domain import assessments
from repo_domain.assessments import AssessmentView
from repo_domain.validation import MAX_ID

AssessmentId = Annotated[int, Path(ge=1, le=MAX_ID)]

MANAGED_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "not the owning author or an admin"},
    404: {"model": ErrorBody},
}


def _columns(row: Question | AnswerOption) -> dict[str, Any]:
    """Every column of the row, so the authoring view cannot miss one (the schema filters)."""
    return {attr.key: getattr(row, attr.key) for attr in type(row).__mapper__.column_attrs}


def view_columns(view: AssessmentView) -> dict[str, Any]:
    """The assessment with every column of its questions and options, for a schema to filter
    (the learner's `AssessmentPublic` drops the answers, `AssessmentAuthoring` keeps them)."""
    data = AssessmentSummary.model_validate(view.assessment).model_dump()
    data["questions"] = [
        {**_columns(q), "options": [_columns(o) for o in view.options[q.id]]}
        for q in view.questions
    ]
    return data


def authoring_view(session: Session, assessment: Assessment) -> AssessmentAuthoring:
    """The assessment with all its questions and options, as its author edits it."""
    view = assessments.load_view(session, assessment=assessment)
    return AssessmentAuthoring.model_validate(view_columns(view))


__all__ = ["MANAGED_ERRORS", "AssessmentId", "authoring_view", "view_columns"]
