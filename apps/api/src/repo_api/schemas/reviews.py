"""The review queue (AI grades an author should check) and the adaptive learner flow."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from repo_api.schemas.attempts import ResultPublic
from repo_api.schemas.common import ORMModel, SafeStr, UtcDatetime


class ReviewItemPublic(ORMModel):
    feedback_id: int
    response_id: int
    attempt_id: int
    assessment_id: int
    question_id: int
    prompt: str
    reference_answer: str | None
    answer: str
    points: float
    ai_score: float | None = Field(description="the AI's suggested points")
    confidence: float | None
    comment: str
    created_at: UtcDatetime


class ReviewGrade(BaseModel):
    score: float = Field(ge=0, le=1e6, allow_inf_nan=False, description="points awarded")
    comment: SafeStr = Field(default="", max_length=5_000)


class FeedbackPublic(ORMModel):
    id: int
    response_id: int
    source: Literal["ai", "human"]
    score: float | None
    confidence: float | None
    needs_review: bool
    comment: str
    model_version: str
    created_at: UtcDatetime


class ReviewDone(BaseModel):
    feedback: FeedbackPublic
    result: ResultPublic


class NextQuestionPublic(BaseModel):
    question_id: int | None = Field(description="null when the attempt needs no more answers")
    done: bool
    reason: Literal["next", "target_se_reached", "all_answered"]
    adaptive: bool
    theta: float = Field(description="current ability estimate (EAP) from scored answers")
    standard_error: float
    n_scored: int
    n_answered: int
    n_questions: int
