"""The review queue (AI grades an author should check) and the adaptive learner flow."""

from __future__ import annotations

from pydantic import BaseModel, Field

from repo_api.schemas.attempts import ResultPublic
from repo_api.schemas.common import ORMModel, UtcDatetime
from repo_db.models import FeedbackSource, QuestionKind
from repo_domain.adaptive import Reason


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
    """Checked by the domain (repo_domain.grading.review): 0 <= score <= the question's points."""

    score: float = Field(description="points awarded")
    comment: str = ""


class FeedbackPublic(ORMModel):
    id: int
    response_id: int
    source: FeedbackSource
    score: float | None
    confidence: float | None
    needs_review: bool
    comment: str
    model_version: str
    created_at: UtcDatetime


class ReviewDone(BaseModel):
    feedback: FeedbackPublic
    result: ResultPublic


class ServedOptionPublic(ORMModel):
    id: int
    text: str


class ServedQuestionPublic(ORMModel):
    """What the learner needs to answer the question (never its key)."""

    id: int
    position: int
    kind: QuestionKind
    prompt: str
    points: float
    options: list[ServedOptionPublic]


class NextQuestionPublic(ORMModel):
    """An adaptive attempt's next question. The learner's ability estimate is not part of it:
    it moves with every right or wrong answer, so it would reveal them."""

    question_id: int | None = Field(description="null when the attempt needs no more answers")
    position: int | None
    question: ServedQuestionPublic | None
    done: bool
    reason: Reason
    n_answered: int
    n_questions: int


class ReviewSamplePublic(ORMModel):
    feedback_id: int
    response_id: int
    attempt_id: int
    answer: str
    ai_score: float | None = Field(description="the AI's suggested points")
    confidence: float | None
    comment: str
    created_at: UtcDatetime


class ReviewGroupPublic(ORMModel):
    """Flagged answers to one question that the AI worker found alike: one decision grades all."""

    group_id: int
    question_id: int
    assessment_id: int
    assessment_title: str
    prompt: str
    reference_answer: str | None
    points: float
    size: int = Field(description="flagged answers in the group")
    confidence: float = Field(description="the AI's lowest confidence in the group")
    samples: list[ReviewSamplePublic] = Field(description="the least confident few answers")


class ReviewGroupPage(BaseModel):
    """One keyset page: pass `next_after` back as `?after=` for the next (null = last page)."""

    items: list[ReviewGroupPublic]
    next_after: str | None


class GroupDecisionPublic(ORMModel):
    """`id` undoes the decision: `POST /review-decisions/{id}/undo`."""

    id: int
    group_id: int
    question_id: int
    assessment_id: int
    graded: int = Field(description="answers graded by this decision")
    score: float
    comment: str
    created_at: UtcDatetime


class UndonePublic(ORMModel):
    decision_id: int
    group_id: int
    restored: int = Field(description="answers back in the review queue with their AI grade")
