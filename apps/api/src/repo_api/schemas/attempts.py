"""Attempts, saved responses and results."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from repo_api.schemas.common import DbId, ORMModel, SafeStr, UtcDatetime
from repo_db.models import AttemptStatus, GradingStatus


class ResponseSave(BaseModel):
    """The answer to one question; fill the field that matches the question kind."""

    selected_option_ids: list[DbId] | None = Field(default=None, max_length=50)
    numeric_value: float | None = Field(default=None, allow_inf_nan=False, ge=-1e15, le=1e15)
    text_value: SafeStr | None = Field(default=None, max_length=20_000)


class ResponsePublic(ORMModel):
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
    responses: list[ResponsePublic]


class ResultPublic(ORMModel):
    id: int
    attempt_id: int
    user_id: int
    assessment_id: int
    score: float
    max_score: float
    percent: float
    passed: bool | None = Field(description="null while the result is pending")
    details: dict[str, Any] | None
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Literal["pending", "final"]:
        """`pending` until every free-text answer has a grade: no provisional pass or fail."""
        return "pending" if self.passed is None else "final"


class SubmitPublic(BaseModel):
    attempt: AttemptPublic
    result: ResultPublic


class HistoryItem(AttemptPublic):
    """An attempt plus its result summary, if any (one query for the whole page)."""

    assessment_title: str
    score: float | None
    max_score: float | None
    percent: float | None
    passed: bool | None
