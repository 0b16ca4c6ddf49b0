"""Read models the web pages need: a learner's dashboard, an attempt sheet, a result sheet and
attempts over time. They reuse the rule functions (answer visibility, ownership) and add no new
rules: what a learner may see is decided by repo_domain.visibility."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repo_db.models import (
    AnswerOption,
    Assessment,
    Attempt,
    AttemptStatus,
    Feedback,
    GradingStatus,
    Question,
    QuestionKind,
    Response,
    Result,
)
from repo_domain import assessments, attempts, grading, visibility
from repo_domain.common import Actor, as_utc
from repo_domain.visibility import FeedbackView, ResponseView, ResultView

RECENT_RESULTS = 10
AVAILABLE_ASSESSMENTS = 50


@dataclass(frozen=True, slots=True)
class AttemptSummary:
    attempt_id: int
    assessment_id: int
    title: str
    status: str
    started_at: datetime
    deadline: datetime | None
    submitted_at: datetime | None = None
    # Shown once graded and only if the answer-visibility policy allows (else None).
    answers_visible: bool = False
    percent: float | None = None
    passed: bool | None = None
    #: An AI grade of the attempt waits for a teacher's review: the mark may still change.
    provisional: bool = False

    @property
    def graded(self) -> bool:
        return self.status == AttemptStatus.GRADED


@dataclass(frozen=True, slots=True)
class Dashboard:
    available: list[Assessment]
    in_progress: list[AttemptSummary]
    recent: list[AttemptSummary]
    #: assessment id -> the learner's attempts at it, for the available assessments taken before
    attempts_at: dict[int, int] = dataclasses.field(default_factory=dict)


def _deadline(started_at: datetime, time_limit_seconds: int | None) -> datetime | None:
    return (
        as_utc(started_at) + timedelta(seconds=time_limit_seconds) if time_limit_seconds else None
    )


def _attempts_under_review(session: Session, *, attempt_ids: list[int]) -> set[int]:
    """Which of the attempts hold an AI grade flagged for a teacher's review."""
    if not attempt_ids:
        return set()
    return set(
        session.scalars(
            select(Response.attempt_id)
            .join(Feedback, Feedback.response_id == Response.id)
            .where(Response.attempt_id.in_(attempt_ids), Feedback.needs_review.is_(True))
        )
    )


def learner_dashboard(session: Session, *, actor: Actor) -> Dashboard:
    available = assessments.list_published(
        session, query=None, after=None, limit=AVAILABLE_ASSESSMENTS
    ).items
    rows = session.execute(
        select(
            Attempt.id,
            Attempt.assessment_id,
            Attempt.status,
            Attempt.started_at,
            Attempt.submitted_at,
            Assessment.title,
            Assessment.time_limit_seconds,
            Assessment.author_id,
            Assessment.show_answers,
            Assessment.max_attempts,
            Assessment.closes_at,
            Result.score,
            Result.max_score,
            Result.percent,
            Result.passed,
        )
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .outerjoin(Result, Result.attempt_id == Attempt.id)
        .where(Attempt.user_id == actor.id)
        .order_by(Attempt.id.desc())
        .limit(RECENT_RESULTS + 20)
    ).all()
    finished = [r for r in rows if r.status != AttemptStatus.IN_PROGRESS][:RECENT_RESULTS]
    visible = visibility.visible_many(
        session,
        actor=actor,
        user_id=actor.id,
        policies=visibility.policies_of(finished).values(),
    )
    under_review = _attempts_under_review(session, attempt_ids=[r.id for r in finished])
    in_progress: list[AttemptSummary] = []
    recent: list[AttemptSummary] = []
    for r in rows:
        summary = AttemptSummary(
            attempt_id=r.id,
            assessment_id=r.assessment_id,
            title=r.title,
            status=r.status,
            started_at=as_utc(r.started_at),
            deadline=_deadline(r.started_at, r.time_limit_seconds),
            submitted_at=as_utc(r.submitted_at) if r.submitted_at else None,
        )
        if r.status == AttemptStatus.IN_PROGRESS:
            in_progress.append(summary)
        elif len(recent) < RECENT_RESULTS:
            totals = visibility.score_summary(
                visible=visible.get(r.assessment_id, False),
                score=r.score,
                max_score=r.max_score,
                percent=r.percent,
                passed=r.passed,
            )
            # No provisional mark while anything is still being graded.
            graded = r.status == AttemptStatus.GRADED
            recent.append(
                dataclasses.replace(
                    summary,
                    answers_visible=totals.answers_visible,
                    percent=totals.percent if graded else None,
                    passed=totals.passed if graded else None,
                    provisional=r.id in under_review,
                )
            )
    attempts_at = _attempt_counts(session, actor=actor, assessment_ids=[a.id for a in available])
    return Dashboard(
        available=list(available),
        in_progress=in_progress,
        recent=recent,
        attempts_at=attempts_at,
    )


def _attempt_counts(session: Session, *, actor: Actor, assessment_ids: list[int]) -> dict[int, int]:
    """The learner's attempts per assessment, for these assessments only (one grouped query on
    the attempts' (user_id, ...) index)."""
    if not assessment_ids:
        return {}
    rows = session.execute(
        select(Attempt.assessment_id, func.count())
        .where(Attempt.user_id == actor.id, Attempt.assessment_id.in_(assessment_ids))
        .group_by(Attempt.assessment_id)
    ).all()
    return {int(assessment_id): int(count) for assessment_id, count in rows}


@dataclass(slots=True)
class AttemptSheet:
    """An attempt, its assessment's questions (with options: the page needs their text; the
    templates never show which is correct) and the saved answers as the learner may see them."""

    attempt: Attempt
    view: assessments.AssessmentView
    responses: dict[int, ResponseView]
    deadline: datetime | None
    answers_visible: bool

    @property
    def answered(self) -> int:
        return sum(1 for q in self.view.questions if q.id in self.responses)

    def number_of(self, question_id: int) -> int:
        """The 1-based page number of a question."""
        return next(i for i, q in enumerate(self.view.questions, 1) if q.id == question_id)

    @property
    def unanswered(self) -> list[int]:
        """Page numbers of the questions without an answer."""
        return [i for i, q in enumerate(self.view.questions, 1) if q.id not in self.responses]


def attempt_sheet(session: Session, *, actor: Actor, attempt_id: int) -> AttemptSheet:
    """The attempt (own, or any for admins), its assessment's questions and the saved answers."""
    detail = attempts.attempt_detail(session, actor=actor, attempt_id=attempt_id)
    view = assessments.load_view(session, assessment=detail.assessment)
    return AttemptSheet(
        attempt=detail.attempt,
        view=view,
        responses={r.question_id: r for r in detail.responses},
        deadline=_deadline(detail.attempt.started_at, detail.assessment.time_limit_seconds),
        answers_visible=detail.answers_visible,
    )


class AnswerStatus(StrEnum):
    """A question's line on the result page. ``answered``: correctness is hidden by the policy."""

    CORRECT = "correct"
    INCORRECT = "incorrect"
    ANSWERED = "answered"
    PENDING = "pending"
    UNANSWERED = "unanswered"


@dataclass(frozen=True, slots=True)
class QuestionFeedback:
    position: int
    prompt: str
    kind: str
    points: float
    answer: str | None
    status: AnswerStatus
    score: float | None  # None while pending or hidden
    comment: FeedbackView | None = None  # the newest grader feedback (free text), if visible


@dataclass(frozen=True, slots=True)
class ResultSheet:
    sheet: AttemptSheet
    result: ResultView
    feedback: list[QuestionFeedback]

    @property
    def pending(self) -> int:
        return self.result.pending

    @property
    def final(self) -> bool:
        return self.result.final

    @property
    def answers_visible(self) -> bool:
        return self.result.answers_visible

    @property
    def under_review(self) -> int:
        """Answers whose AI grade waits for a teacher's review: while any does, the score and
        pass/fail are provisional (a teacher's grade replaces the AI's and the result is
        recomputed)."""
        return sum(1 for f in self.feedback if f.comment is not None and f.comment.needs_review)


def _answer_text(question: Question, options: list[AnswerOption], response: ResponseView) -> str:
    if question.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
        chosen = set(response.selected_option_ids or [])
        return ", ".join(o.text for o in options if o.id in chosen)
    if question.kind == QuestionKind.NUMERIC:
        return "" if response.numeric_value is None else f"{response.numeric_value:g}"
    return response.text_value or ""


def result_sheet(session: Session, *, actor: Actor, attempt_id: int) -> ResultSheet:
    """The result page: totals and per-question lines from the result the attempt's submit (or
    its last grade) computed, shaped by the answer-visibility policy. An adaptive test lists the
    questions it served (those its result counts)."""
    result = attempts.get_result(session, actor=actor, attempt_id=attempt_id)
    sheet = attempt_sheet(session, actor=actor, attempt_id=attempt_id)
    # The newest grade's feedback on each answer (a reviewer's replaces the AI's); empty while
    # answers are hidden.
    latest = {
        f.response_id: f
        for f in grading.feedback_for_attempt(session, actor=actor, attempt_id=attempt_id)
    }
    lines = {q["question_id"]: q for q in result.questions}
    feedback = []
    for q in sheet.view.questions:
        line = lines.get(q.id)
        if line is None:
            continue  # not counted: an adaptive test did not serve it
        response = sheet.responses.get(q.id)
        answer = _answer_text(q, sheet.view.options[q.id], response) if response else None
        status = line["grading_status"]
        if response is None or (q.kind == QuestionKind.FREE_TEXT and not (answer or "").strip()):
            kind = AnswerStatus.UNANSWERED
        elif status == GradingStatus.PENDING:
            kind = AnswerStatus.PENDING
        elif line["is_correct"] is None:
            kind = AnswerStatus.ANSWERED
        else:
            kind = AnswerStatus.CORRECT if line["is_correct"] else AnswerStatus.INCORRECT
        feedback.append(
            QuestionFeedback(
                position=q.position,
                prompt=q.prompt,
                kind=q.kind,
                points=q.points,
                answer=answer,
                status=kind,
                score=line["score"],
                comment=latest.get(response.id) if response is not None else None,
            )
        )
    return ResultSheet(sheet=sheet, result=result, feedback=feedback)


def attempts_per_day(
    session: Session, *, actor: Actor, assessment_id: int
) -> list[tuple[date, int]]:
    """Attempts started per calendar day (UTC), for the managers of the assessment."""
    assessment = assessments.get_managed(session, actor=actor, assessment_id=assessment_id)
    day = func.date(Attempt.started_at).label("day")
    rows = session.execute(
        select(day, func.count())
        .where(Attempt.assessment_id == assessment.id)
        .group_by(day)
        .order_by(day)
    ).all()
    out: list[tuple[date, int]] = []
    for value, count in rows:
        # PostgreSQL returns a date, SQLite the ISO text of one.
        as_date = value if isinstance(value, date) else date.fromisoformat(str(value))
        out.append((as_date, int(count)))
    return out


__all__: list[str] = [
    "AnswerStatus",
    "AttemptSheet",
    "AttemptSummary",
    "Dashboard",
    "QuestionFeedback",
    "ResultSheet",
    "attempt_sheet",
    "attempts_per_day",
    "learner_dashboard",
    "result_sheet",
]
