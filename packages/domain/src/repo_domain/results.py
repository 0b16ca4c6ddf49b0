"""The one result computation: an attempt's score from its questions and responses.

``attempts.submit`` (first result) and ``grading.refresh_result`` (after a free-text grade) both
call :func:`compute`, so a result never depends on which of them wrote it last. The rules:

* objective questions (choice, numeric) are scored against the key every time, except an answer
  already scored against an older version of a corrected question (``Response.question_version``):
  it keeps its score until a regrade (repo_domain.regrade) moves it to the new version;
* a free-text answer counts once it has a grade (AI or reviewer); until then it is pending, and
  a blank one is graded 0 at once;
* a non-adaptive assessment counts every question (unanswered: 0 of its points); an adaptive one
  counts only the questions it served (those with a response);
* ``passed`` is None while anything is pending: never a provisional pass or fail.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from repo_db.models import (
    AnswerOption,
    Assessment,
    GradingStatus,
    Question,
    QuestionKind,
    Response,
    Result,
)
from repo_domain.common import utcnow

#: The per-question status of a question without a response (not a GradingStatus: no row).
UNANSWERED = "unanswered"
#: A free-text answer counts as correct (for IRT) when it earns at least this share of its points.
CORRECT_FRACTION = 0.5
_OBJECTIVE = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE, QuestionKind.NUMERIC)


@dataclass(frozen=True, slots=True)
class QuestionScore:
    question_id: int
    kind: str
    points: float
    score: float | None  # None while pending
    is_correct: bool | None  # None while pending
    grading_status: str  # a GradingStatus, or UNANSWERED
    version: int = 1  # the question version the score is for

    def as_details(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "kind": self.kind,
            "points": self.points,
            "score": self.score,
            "is_correct": self.is_correct,
            "grading_status": self.grading_status,
        }


@dataclass(frozen=True, slots=True)
class ComputedResult:
    score: float
    max_score: float
    percent: float
    passed: bool | None
    pending: int
    questions: list[QuestionScore]

    @property
    def details(self) -> dict[str, Any]:
        return {"questions": [q.as_details() for q in self.questions], "pending": self.pending}


def is_objective(kind: str) -> bool:
    return kind in _OBJECTIVE


def objective_correct(
    question: Question, options: Sequence[AnswerOption], response: Response
) -> bool:
    """Does an objective answer match the key? (numeric: within the tolerance)"""
    if question.kind == QuestionKind.NUMERIC:
        if response.numeric_value is None or question.numeric_answer is None:
            return False
        tolerance = question.numeric_tolerance or 0.0
        slack = 1e-9 * max(1.0, abs(question.numeric_answer))
        return math.fabs(response.numeric_value - question.numeric_answer) <= tolerance + slack
    correct = {o.id for o in options if o.is_correct}
    return set(response.selected_option_ids or []) == correct


def score_question(
    question: Question, options: Sequence[AnswerOption], response: Response | None
) -> QuestionScore:
    """One question's share of the result."""

    def scored(
        score: float | None, is_correct: bool | None, status: str, kept: bool = False
    ) -> QuestionScore:
        # A score kept from before stays with the version it was given for.
        version = response.question_version if kept and response else question.version
        return QuestionScore(
            question.id, question.kind, question.points, score, is_correct, status, version
        )

    if response is None:
        return scored(0.0, False, UNANSWERED)
    if is_objective(question.kind):
        if response.question_version != question.version and response.score is not None:
            return scored(response.score, response.is_correct, GradingStatus.NOT_REQUIRED, True)
        ok = objective_correct(question, options, response)
        return scored(question.points if ok else 0.0, ok, GradingStatus.NOT_REQUIRED)
    if not (response.text_value or "").strip():
        return scored(0.0, False, GradingStatus.GRADED)
    if response.grading_status == GradingStatus.GRADED and response.score is not None:
        return scored(response.score, response.is_correct, GradingStatus.GRADED, True)
    return scored(None, None, GradingStatus.PENDING)


def compute(
    *,
    assessment: Assessment,
    questions: Sequence[Question],
    options: Mapping[int, Sequence[AnswerOption]],
    responses: Mapping[int, Response],
) -> ComputedResult:
    """The result of an attempt (pure: reads the rows, writes nothing)."""
    scores = [
        score_question(q, options.get(q.id, ()), responses.get(q.id))
        for q in questions
        if not (assessment.adaptive and q.id not in responses)  # adaptive: served ones only
    ]
    score = sum(s.score or 0.0 for s in scores)
    max_score = sum(s.points for s in scores)
    pending = sum(s.grading_status == GradingStatus.PENDING for s in scores)
    percent = round(100.0 * score / max_score, 4) if max_score else 0.0
    return ComputedResult(
        score=score,
        max_score=max_score,
        percent=percent,
        passed=None if pending else percent >= assessment.pass_percent,
        pending=pending,
        questions=scores,
    )


def apply(computed: ComputedResult, *, result: Result, responses: Mapping[int, Response]) -> None:
    """Write a computed result into its row and the per-answer scores into the responses."""
    for s in computed.questions:
        response = responses.get(s.question_id)
        if response is not None:
            response.score = s.score
            response.is_correct = s.is_correct
            response.grading_status = s.grading_status
            response.question_version = s.version
    result.score = computed.score
    result.max_score = computed.max_score
    result.percent = computed.percent
    result.passed = computed.passed
    result.details = computed.details
    result.updated_at = utcnow()


__all__ = [
    "CORRECT_FRACTION",
    "UNANSWERED",
    "ComputedResult",
    "QuestionScore",
    "apply",
    "compute",
    "is_objective",
    "objective_correct",
    "score_question",
]
