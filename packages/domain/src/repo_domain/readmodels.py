"""Read models the web pages need: a learner's dashboard, an attempt sheet, a result sheet and
attempts over time. They reuse the rule functions (visibility, ownership) and add no new rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repo_db.models import AnswerOption, Assessment, Attempt, Question, Response, Result
from repo_domain import assessments, attempts
from repo_domain.common import Actor, as_utc

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
    percent: float | None = None
    passed: bool | None = None


@dataclass(frozen=True, slots=True)
class Dashboard:
    available: list[Assessment]
    in_progress: list[AttemptSummary]
    recent: list[AttemptSummary]


def _deadline(started_at: datetime, time_limit_seconds: int | None) -> datetime | None:
    return (
        as_utc(started_at) + timedelta(seconds=time_limit_seconds) if time_limit_seconds else None
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
            Result.percent,
            Result.passed,
        )
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .outerjoin(Result, Result.attempt_id == Attempt.id)
        .where(Attempt.user_id == actor.id)
        .order_by(Attempt.id.desc())
        .limit(RECENT_RESULTS + 20)
    ).all()
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
            # No provisional mark while anything is still being graded.
            percent=r.percent if r.status == "graded" else None,
            passed=r.passed if r.status == "graded" else None,
        )
        if r.status == "in_progress":
            in_progress.append(summary)
        elif len(recent) < RECENT_RESULTS:
            recent.append(summary)
    return Dashboard(available=list(available), in_progress=in_progress, recent=recent)


@dataclass(slots=True)
class AttemptSheet:
    attempt: Attempt
    view: assessments.AssessmentView
    responses: dict[int, Response]
    deadline: datetime | None

    @property
    def answered(self) -> int:
        return sum(1 for q in self.view.questions if q.id in self.responses)


def attempt_sheet(session: Session, *, actor: Actor, attempt_id: int) -> AttemptSheet:
    """The attempt (own, or any for admins), its assessment's questions and the saved answers."""
    attempt, responses = attempts.get_attempt(session, actor=actor, attempt_id=attempt_id)
    assessment = session.get(Assessment, attempt.assessment_id)
    assert assessment is not None  # attempts.assessment_id is a foreign key
    view = assessments.load_view(session, assessment=assessment)
    return AttemptSheet(
        attempt=attempt,
        view=view,
        responses={r.question_id: r for r in responses},
        deadline=_deadline(attempt.started_at, assessment.time_limit_seconds),
    )


@dataclass(frozen=True, slots=True)
class QuestionFeedback:
    position: int
    prompt: str
    kind: str
    points: float
    answer: str | None
    # "correct", "incorrect", "pending" (free text awaiting grading) or "unanswered"
    status: str
    score: float | None


@dataclass(frozen=True, slots=True)
class ResultSheet:
    sheet: AttemptSheet
    result: Result
    pending: int
    feedback: list[QuestionFeedback]

    @property
    def final(self) -> bool:
        return self.pending == 0 and self.sheet.attempt.status == "graded"


def _answer_text(question: Question, options: list[AnswerOption], response: Response) -> str:
    if question.kind in ("single_choice", "multiple_choice"):
        chosen = set(response.selected_option_ids or [])
        return ", ".join(o.text for o in options if o.id in chosen)
    if question.kind == "numeric":
        return "" if response.numeric_value is None else f"{response.numeric_value:g}"
    return response.text_value or ""


def result_sheet(session: Session, *, actor: Actor, attempt_id: int) -> ResultSheet:
    result = attempts.get_result(session, actor=actor, attempt_id=attempt_id)
    sheet = attempt_sheet(session, actor=actor, attempt_id=attempt_id)
    feedback = []
    pending = 0
    for q in sheet.view.questions:
        response = sheet.responses.get(q.id)
        answer = _answer_text(q, sheet.view.options[q.id], response) if response else None
        if response is None or (q.kind == "free_text" and not (answer or "").strip()):
            status, score = "unanswered", 0.0
        elif response.grading_status == "pending":
            status, score = "pending", None
            pending += 1
        else:
            status = "correct" if response.is_correct else "incorrect"
            score = response.score
        feedback.append(
            QuestionFeedback(
                position=q.position,
                prompt=q.prompt,
                kind=q.kind,
                points=q.points,
                answer=answer,
                status=status,
                score=score,
            )
        )
    return ResultSheet(sheet=sheet, result=result, pending=pending, feedback=feedback)


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
