"""Attempts, saved responses and results."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from repo_api.schemas.common import ORMModel, UtcDatetime
from repo_db.models import AttemptStatus, GradingStatus
from repo_domain.visibility import ResultStatus, ResultView


class ResponseSave(BaseModel):
    """The answer to one question; fill the field that matches the question kind. The values
    are checked by the domain (repo_domain.attempts: option ids, ranges, text limits)."""

    selected_option_ids: list[int] | None = None
    numeric_value: float | None = None
    text_value: str | None = None


class ResponsePublic(ORMModel):
    """A saved answer. `is_correct` and `score` are null until the assessment's show_answers
    policy lets the caller see them (always null while the attempt is in progress)."""

    id: int
    question_id: int
    selected_option_ids: list[int] | None
    numeric_value: float | None
    text_value: str | None
    is_correct: bool | None
    score: float | None
    grading_status: GradingStatus
    updated_at: UtcDatetime


class AttemptPublic(ORMModel):
    id: int
    assessment_id: int
    user_id: int
    status: AttemptStatus
    started_at: UtcDatetime
    submitted_at: UtcDatetime | None


class AttemptDetail(AttemptPublic):
    answers_visible: bool = Field(description="whether correctness is shown (show_answers)")
    responses: list[ResponsePublic]


class ResultPublic(ORMModel):
    """A result as the caller may see it: score, percent, passed and per-question correctness
    are null until the assessment's show_answers policy allows them (managers: always)."""

    id: int
    attempt_id: int
    user_id: int
    assessment_id: int
    status: ResultStatus = Field(
        description="`pending` until every free-text answer has a grade: no provisional verdict"
    )
    answers_visible: bool
    score: float | None
    max_score: float
    percent: float | None
    passed: bool | None = Field(description="null while pending or hidden")
    details: dict[str, Any]
    created_at: UtcDatetime
    updated_at: UtcDatetime
    regraded_at: UtcDatetime | None = Field(
        default=None, description="when a corrected question last re-scored this result"
    )

    @classmethod
    def of(cls, view: ResultView) -> ResultPublic:
        return cls.model_validate(
            {
                "id": view.id,
                "attempt_id": view.attempt_id,
                "user_id": view.user_id,
                "assessment_id": view.assessment_id,
                "status": view.status,
                "answers_visible": view.answers_visible,
                "score": view.score,
                "max_score": view.max_score,
                "percent": view.percent,
                "passed": view.passed,
                "details": view.details,
                "created_at": view.created_at,
                "updated_at": view.updated_at,
                "regraded_at": view.regraded_at,
            }
        )


class SubmitPublic(BaseModel):
    attempt: AttemptPublic
    result: ResultPublic


class HistoryItem(AttemptPublic):
    """An attempt plus its result summary, if any; totals are null until show_answers allows."""

    assessment_title: str
    answers_visible: bool
    score: float | None
    max_score: float | None
    percent: float | None
    passed: bool | None
