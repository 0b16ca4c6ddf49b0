"""Assessments, questions and answer options: authoring bodies and the two read views."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from repo_api.schemas.common import ORMModel, SafeStr, UtcDatetime
from repo_db.models import AssessmentStatus, QuestionKind

ShowAnswers = Literal["never", "after_last_attempt", "after_close"]

MAX_QUESTIONS = 200
MAX_OPTIONS = 20


class OptionCreate(BaseModel):
    text: SafeStr = Field(min_length=1, max_length=2000)
    is_correct: bool = False


class QuestionCreate(BaseModel):
    """A question; its position is its index in the list, options likewise."""

    kind: QuestionKind
    prompt: SafeStr = Field(min_length=1, max_length=10_000)
    points: float = Field(default=1.0, gt=0, le=1000, allow_inf_nan=False)
    numeric_answer: float | None = Field(default=None, allow_inf_nan=False, ge=-1e15, le=1e15)
    numeric_tolerance: float | None = Field(default=None, ge=0, le=1e15, allow_inf_nan=False)
    reference_answer: SafeStr | None = Field(default=None, max_length=10_000)
    rubric_keywords: list[Annotated[SafeStr, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=50, description="free text: key ideas, alternatives with |"
    )
    options: list[OptionCreate] = Field(default_factory=list, max_length=MAX_OPTIONS)

    @model_validator(mode="after")
    def _consistent(self) -> QuestionCreate:
        correct = sum(o.is_correct for o in self.options)
        if self.kind in ("single_choice", "multiple_choice"):
            if len(self.options) < 2:
                raise ValueError(f"{self.kind} questions need at least two options")
            if self.kind == "single_choice" and correct != 1:
                raise ValueError("single_choice questions need exactly one correct option")
            if self.kind == "multiple_choice" and correct < 1:
                raise ValueError("multiple_choice questions need at least one correct option")
        elif self.options:
            raise ValueError(f"{self.kind} questions take no options")
        if self.kind == "numeric" and self.numeric_answer is None:
            raise ValueError("numeric questions need numeric_answer")
        return self


class AssessmentBase(BaseModel):
    title: SafeStr = Field(min_length=1, max_length=200)
    description: SafeStr = Field(default="", max_length=10_000)
    time_limit_seconds: int | None = Field(default=None, ge=10, le=7 * 24 * 3600)
    pass_percent: float = Field(default=60.0, ge=0, le=100, allow_inf_nan=False)
    max_attempts: int | None = Field(default=None, ge=1, le=1000, description="null: unlimited")
    show_answers: ShowAnswers = Field(
        default="after_last_attempt",
        description="when learners see which answers were correct (never while retakes remain)",
    )
    closes_at: UtcDatetime | None = Field(default=None, description="no new attempts after this")


class AssessmentCreate(AssessmentBase):
    adaptive: bool = Field(default=False, description="serve questions by maximum information")
    adaptive_target_se: float | None = Field(default=None, gt=0, le=2, allow_inf_nan=False)
    questions: list[QuestionCreate] = Field(default_factory=list, max_length=MAX_QUESTIONS)


class AssessmentUpdate(BaseModel):
    """Partial update. Title/description may change until archived; the rest only in draft."""

    title: SafeStr | None = Field(default=None, min_length=1, max_length=200)
    description: SafeStr | None = Field(default=None, max_length=10_000)
    time_limit_seconds: int | None = Field(default=None, ge=10, le=7 * 24 * 3600)
    pass_percent: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    max_attempts: int | None = Field(default=None, ge=1, le=1000)
    show_answers: ShowAnswers | None = None
    closes_at: UtcDatetime | None = None
    # Replaces every question when given (draft only).
    questions: list[QuestionCreate] | None = Field(default=None, max_length=MAX_QUESTIONS)


class OptionPublic(ORMModel):
    id: int
    position: int
    text: str


class OptionAuthoring(OptionPublic):
    is_correct: bool


class QuestionPublic(ORMModel):
    id: int
    position: int
    kind: QuestionKind
    prompt: str
    points: float
    options: list[OptionPublic]


class QuestionAuthoring(QuestionPublic):
    numeric_answer: float | None
    numeric_tolerance: float | None
    reference_answer: str | None
    rubric_keywords: list[str] | None = None
    options: list[OptionAuthoring]  # type: ignore[assignment]


class AssessmentSummary(ORMModel):
    id: int
    author_id: int
    title: str
    description: str
    status: AssessmentStatus
    time_limit_seconds: int | None
    pass_percent: float
    max_attempts: int | None
    show_answers: ShowAnswers
    closes_at: UtcDatetime | None
    adaptive: bool = False
    adaptive_target_se: float | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    published_at: UtcDatetime | None


class AssessmentPublic(AssessmentSummary):
    """What a test taker sees: no correct answers."""

    questions: list[QuestionPublic]


class AssessmentAuthoring(AssessmentSummary):
    """What the owning author or an admin sees: everything."""

    questions: list[QuestionAuthoring]


class ScoreBucket(BaseModel):
    lower_percent: int
    upper_percent: int
    count: int


class QuestionStats(BaseModel):
    question_id: int
    position: int
    kind: QuestionKind
    responses: int
    correct: int
    correct_rate: float | None
    mean_score: float | None


class AssessmentStats(BaseModel):
    assessment_id: int
    attempts: int
    in_progress: int
    grading: int
    graded: int
    results: int
    mean_percent: float | None
    pass_rate: float | None
    score_distribution: list[ScoreBucket]
    questions: list[QuestionStats]
