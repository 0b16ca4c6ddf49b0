"""Assessments, questions and answer options: authoring bodies and the two read views."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from repo_api.schemas.common import ORMModel, UtcDatetime
from repo_db.models import AssessmentStatus, QuestionKind, ShowAnswers
from repo_domain.adaptive import DEFAULT_MAX_EXPOSURE, DEFAULT_MIN_LENGTH
from repo_domain.validation import (
    ADAPTIVE_LENGTH_MAX,
    DESCRIPTION_MAX,
    MAX_EXPOSURE_MAX,
    MAX_EXPOSURE_MIN,
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    OPTIONS_MIN,
    PROMPT_MAX,
    QUESTIONS_MAX,
    RUBRIC_KEYWORD_MAX,
    RUBRIC_KEYWORDS_MAX,
    TITLE_MAX,
)

# These bodies describe shape only: limits, characters and the consistency between a question's
# kind and its fields are checked by the domain (repo_domain.questions, .assessments), which
# answers 422 with the offending `field`. The numbers below are documentation, not checks.


class OptionCreate(BaseModel):
    text: str = Field(description=f"1 to {OPTION_TEXT_MAX:,} characters")
    is_correct: bool = False


class QuestionCreate(BaseModel):
    """A question's content. In a list, its position is its index; options likewise."""

    kind: QuestionKind
    prompt: str = Field(description=f"1 to {PROMPT_MAX:,} characters, line breaks allowed")
    points: float = 1.0
    numeric_answer: float | None = Field(default=None, description="numeric: required")
    numeric_tolerance: float | None = Field(default=None, description="numeric: absolute, >= 0")
    reference_answer: str | None = Field(default=None, description="free text: model answer")
    rubric_keywords: list[str] | None = Field(
        default=None,
        description=(
            f"free text: up to {RUBRIC_KEYWORDS_MAX} key ideas of 1 to {RUBRIC_KEYWORD_MAX} "
            "characters each, alternatives separated by |"
        ),
    )
    options: list[OptionCreate] = Field(
        default_factory=list,
        description=(
            f"choice kinds: {OPTIONS_MIN} to {OPTIONS_MAX} options, single_choice with exactly "
            "one correct, multiple_choice with at least one; other kinds: none"
        ),
    )


class QuestionMove(BaseModel):
    position: int = Field(description="the question's new 0-based position")


class AssessmentBase(BaseModel):
    title: str = Field(description=f"1 to {TITLE_MAX} characters, one line")
    description: str = Field(default="", description=f"up to {DESCRIPTION_MAX:,} characters")
    time_limit_seconds: int | None = Field(default=None, description="null: no time limit")
    pass_percent: float = Field(default=60.0, description="0 to 100")
    max_attempts: int | None = Field(default=None, description="null: unlimited")
    show_answers: ShowAnswers = Field(
        default=ShowAnswers.AFTER_LAST_ATTEMPT,
        description="when learners see which answers were correct (never while retakes remain)",
    )
    closes_at: UtcDatetime | None = Field(default=None, description="no new attempts after this")


class AssessmentCreate(AssessmentBase):
    adaptive: bool = Field(default=False, description="serve questions by maximum information")
    adaptive_target_se: float | None = Field(default=None, description="stop below this SE")
    adaptive_min_length: int | None = Field(
        default=None,
        description=f"adaptive: at least this many questions (1 to {ADAPTIVE_LENGTH_MAX}); "
        f"null: {DEFAULT_MIN_LENGTH}",
    )
    adaptive_max_length: int | None = Field(
        default=None,
        description="adaptive: at most this many questions; null: derived from the bank size and "
        "the target SE (repo_domain.adaptive)",
    )
    adaptive_max_exposure: float | None = Field(
        default=None,
        description=f"adaptive: no question served to more than this share of learners "
        f"({MAX_EXPOSURE_MIN} to {MAX_EXPOSURE_MAX}; 1: no exposure control); "
        f"null: {DEFAULT_MAX_EXPOSURE}",
    )
    questions: list[QuestionCreate] = Field(
        default_factory=list, description=f"up to {QUESTIONS_MAX} questions, in order"
    )


class AssessmentUpdate(BaseModel):
    """Partial update: only the fields sent change (null clears a time limit, max_attempts or
    closes_at, or puts an adaptive limit back to its default). Title, description, the attempt
    policy and the adaptive limits may change until archived; the pass mark and time limit only
    in draft. Questions change one at a time under
    /assessments/{id}/questions."""

    model_config = ConfigDict(extra="forbid")  # e.g. the removed `questions` is refused

    title: str | None = None
    description: str | None = None
    time_limit_seconds: int | None = None
    pass_percent: float | None = None
    max_attempts: int | None = None
    show_answers: ShowAnswers | None = None
    closes_at: UtcDatetime | None = None
    adaptive_min_length: int | None = None
    adaptive_max_length: int | None = None
    adaptive_max_exposure: float | None = None


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
    version: int = Field(description="1, plus one per correction after publishing")
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
    adaptive_min_length: int | None = None
    adaptive_max_length: int | None = None
    adaptive_max_exposure: float | None = None
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


class OptionShareOut(ORMModel):
    """How often an option was chosen (shares of graded attempts), overall and by the upper and
    lower 27% of scorers."""

    option_id: int
    position: int
    text: str
    is_correct: bool
    chosen: float
    chosen_upper: float
    chosen_lower: float


class Irt2PLOut(ORMModel):
    discrimination: float
    discrimination_se: float | None
    difficulty: float
    difficulty_se: float | None
    fit_rmsd: float | None
    n_responses: int
    calibration_id: int


class ItemStatsOut(ORMModel):
    question_id: int
    number: int = Field(description="1-based, in position order")
    kind: QuestionKind
    prompt: str
    points: float
    answered: int
    facility: float | None = Field(description="mean share of the points scored (0-1)")
    discrimination_index: float | None = Field(description="upper minus lower group facility")
    point_biserial: float | None = Field(description="corrected: item vs rest of the test")
    flags: list[str] = Field(description="negative_discrimination, too_easy, too_hard")
    options: list[OptionShareOut]
    unanswered_share: float | None
    irt: Irt2PLOut | None = Field(description="2PL parameters when calibrated (repo_ai)")


class ReliabilityOut(ORMModel):
    statistic: str = Field(description="kr20 when every question is right/wrong, else alpha")
    value: float | None
    attempts: int
    questions: int


class CalibrationOut(ORMModel):
    calibration_id: int
    created_at: UtcDatetime
    n_learners: int
    converged: bool


class ItemAnalysisOut(ORMModel):
    assessment_id: int
    attempts: int = Field(description="graded attempts the analysis rests on")
    group_size: int = Field(description="attempts in each of the upper and lower groups")
    reliability: ReliabilityOut
    items: list[ItemStatsOut]
    calibration: CalibrationOut | None


class QuestionVersionOut(BaseModel):
    """One version of a question: its whole content (the answer key included) as it was."""

    version: int
    created_at: UtcDatetime
    created_by_id: int | None = Field(description="null for version 1 of pre-0014 questions")
    answers: int = Field(description="answers scored against this version now")
    content: dict[str, Any] = Field(
        description="kind, prompt, points, numeric_answer, numeric_tolerance, reference_answer, "
        "rubric_keywords and options (id, text, is_correct)"
    )


class AttemptRegradeOut(BaseModel):
    attempt_id: int
    user_id: int
    old_version: int | None = Field(description="null: the question was not answered")
    old_score: float
    new_score: float
    old_max_score: float
    new_max_score: float
    old_percent: float
    new_percent: float
    old_passed: bool | None
    new_passed: bool | None = Field(description="null: a free-text answer went back to grading")
    changed: bool


class RegradeOut(BaseModel):
    """Every affected attempt's result before and after (dry run: nothing was written)."""

    question_id: int
    assessment_id: int
    version: int = Field(description="the version the attempts are (or would be) scored against")
    dry_run: bool
    regraded_at: UtcDatetime | None
    changed: int
    attempts: list[AttemptRegradeOut]
