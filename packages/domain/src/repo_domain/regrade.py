"""Regrade: re-score the submitted attempts of a corrected question against its newest version.

One rule for the API and the web (as Moodle's quiz regrade does it): :func:`regrade` with
``dry_run=True`` computes every affected attempt's old and new result and writes nothing; with
``dry_run=False`` it writes them in the caller's unit of work (one transaction): each answer is
re-scored and moved to the new version (``Response.question_version``), the result's totals and
``passed`` are recomputed by the one result computation (repo_domain.results), the result is
stamped ``regraded_at``, and one audit event records the totals before and after.

Affected: a submitted attempt (it has a result) whose answer to the question was scored against
an older version, or whose result changes under the new version (an unanswered question's points
still count towards the maximum). In-progress attempts are not affected: they are scored at
submit, against the version current then.

Free-text answers that already have a grade (a reviewer's or the AI's) keep it, as the same share
of the question's points (2 of 4 stays half marks when the question is worth 8), unless the rubric
changed (the model answer or the rubric keywords): then the grade no longer says what it was given
for, the answer goes back to grading (pending: ``passed`` is None) and the attempt is queued for
the grader again, whose suggestion a reviewer confirms as usual.

Attempts are read in batches of ``BATCH`` results with their answers, so a regrade of 100,000
attempts holds one batch of answers at a time; applied batches are flushed and let go.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repo_db import jobs
from repo_db.models import (
    Assessment,
    Attempt,
    AttemptStatus,
    GradingStatus,
    Question,
    QuestionVersion,
    Response,
    Result,
)
from repo_domain import audit, results
from repo_domain.assessments import AssessmentView, get_managed, load_view
from repo_domain.common import Actor, utcnow
from repo_domain.errors import NotFound
from repo_domain.grading import ESTIMATE_ABILITY, GRADE_ATTEMPT
from repo_domain.questions import RUBRIC_FIELDS
from repo_domain.validation import identifier

#: Results (with their answers) read per round trip.
BATCH = 500


@dataclass(frozen=True, slots=True)
class AttemptRegrade:
    """One affected attempt: its result before and after the regrade."""

    attempt_id: int
    user_id: int
    old_version: int | None  # the version its answer was scored against (None: unanswered)
    old_score: float
    new_score: float
    old_max_score: float
    new_max_score: float
    old_percent: float
    new_percent: float
    old_passed: bool | None
    new_passed: bool | None  # None: pending (a free-text answer went back to grading)

    @property
    def changed(self) -> bool:
        return (self.old_score, self.old_max_score, self.old_passed) != (
            self.new_score,
            self.new_max_score,
            self.new_passed,
        )


@dataclass(slots=True)
class RegradeReport:
    question_id: int
    assessment_id: int
    version: int  # the version the attempts are (or would be) scored against
    dry_run: bool
    regraded_at: datetime | None  # None on a dry run
    attempts: list[AttemptRegrade] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(a.changed for a in self.attempts)


def _question(
    session: Session, *, actor: Actor, assessment_id: int, question_id: int
) -> tuple[Question, Assessment]:
    """The question, for its assessment's owning author or an admin (as for editing it)."""
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id)
    identifier(question_id, field="question_id")
    question = session.scalar(
        select(Question).where(Question.id == question_id, Question.assessment_id == assessment.id)
    )
    if question is None:
        raise NotFound("question not found")
    return question, assessment


def _old_versions(session: Session, question: Question) -> dict[int, dict[str, Any]]:
    """The snapshots of the question's versions (a handful: corrections are rare)."""
    rows = session.execute(
        select(QuestionVersion.version, QuestionVersion.content).where(
            QuestionVersion.question_id == question.id
        )
    )
    return dict(rows.tuples().all())


def _rubric_changed(old: Mapping[str, Any] | None, question: Question) -> bool:
    if old is None:  # no snapshot of that version: assume the worst, grade again
        return True
    return any(_listed(old.get(name)) != _listed(getattr(question, name)) for name in RUBRIC_FIELDS)


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def rescored(
    response: Response, *, question: Question, old: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The answer's fields once moved to the question's current version (see the module's
    rules): objective answers are re-scored by the result computation, graded free text keeps its
    share of the points unless the rubric changed."""
    values: dict[str, Any] = {
        "question_version": question.version,
        "score": response.score,
        "is_correct": response.is_correct,
        "grading_status": response.grading_status,
    }
    graded = response.grading_status == GradingStatus.GRADED and response.score is not None
    if results.is_objective(question.kind) or not graded or not (response.text_value or "").strip():
        return values
    if _rubric_changed(old, question):
        return {
            **values,
            "score": None,
            "is_correct": None,
            "grading_status": GradingStatus.PENDING,
        }
    old_points = float(old["points"]) if old and old.get("points") else question.points
    assert response.score is not None
    return {**values, "score": round(response.score * question.points / old_points, 4)}


def _as_answer(response: Response, values: Mapping[str, Any]) -> Response:
    """A transient copy of ``response`` with ``values``: the dry run computes with it and never
    touches the row (it is not added to the session)."""
    return Response(
        attempt_id=response.attempt_id,
        question_id=response.question_id,
        selected_option_ids=response.selected_option_ids,
        numeric_value=response.numeric_value,
        text_value=response.text_value,
        **values,
    )


@dataclass(slots=True)
class _Planned:
    result: Result
    responses: dict[int, Response]
    values: dict[str, Any] | None  # the corrected question's answer, moved (None: unanswered)
    computed: results.ComputedResult
    row: AttemptRegrade


def _plan(
    session: Session, *, question: Question, view: AssessmentView, batch: int
) -> Iterator[list[_Planned]]:
    """The affected attempts, a batch at a time (keyset on the result's attempt id)."""
    assessment = view.assessment
    versions = _old_versions(session, question)
    last = 0
    while True:
        batch_results = list(
            session.scalars(
                select(Result)
                .where(Result.assessment_id == assessment.id, Result.attempt_id > last)
                .order_by(Result.attempt_id)
                .limit(batch)
            )
        )
        if not batch_results:
            return
        last = batch_results[-1].attempt_id
        answers: dict[int, dict[int, Response]] = {r.attempt_id: {} for r in batch_results}
        for answer in session.scalars(
            select(Response).where(Response.attempt_id.in_(list(answers)))
        ):
            answers[answer.attempt_id][answer.question_id] = answer
        planned = []
        for result in batch_results:
            responses = answers[result.attempt_id]
            response = responses.get(question.id)
            values = None
            effective = responses
            if response is not None:
                old = versions.get(response.question_version)
                values = rescored(response, question=question, old=old)
                effective = {**responses, question.id: _as_answer(response, values)}
            computed = results.compute(
                assessment=assessment,
                questions=view.questions,
                options=view.options,
                responses=effective,
            )
            row = AttemptRegrade(
                attempt_id=result.attempt_id,
                user_id=result.user_id,
                old_version=None if response is None else response.question_version,
                old_score=result.score,
                new_score=computed.score,
                old_max_score=result.max_score,
                new_max_score=computed.max_score,
                old_percent=result.percent,
                new_percent=computed.percent,
                old_passed=result.passed,
                new_passed=computed.passed,
            )
            stale = response is not None and response.question_version != question.version
            if stale or row.changed:
                planned.append(_Planned(result, responses, values, computed, row))
        yield planned


def _apply_batch(
    session: Session, planned: list[_Planned], *, question_id: int, now: datetime
) -> None:
    """Write one batch, then let its rows go (the session would otherwise keep them all)."""
    ids = [item.result.attempt_id for item in planned]
    attempts = {a.id: a for a in session.scalars(select(Attempt).where(Attempt.id.in_(ids)))}
    to_grade: list[int] = []
    to_estimate: list[int] = []
    for item in planned:
        response = item.responses.get(question_id)
        if response is not None and item.values is not None:
            for name, value in item.values.items():
                setattr(response, name, value)
            response.updated_at = now
        results.apply(item.computed, result=item.result, responses=item.responses)
        item.result.regraded_at = now
        attempt = attempts[item.result.attempt_id]
        if item.computed.pending:
            attempt.status = AttemptStatus.GRADING
            to_grade.append(attempt.id)
        elif item.row.changed:  # correctness changed: the ability estimate is out of date
            to_estimate.append(attempt.id)
    session.flush()
    jobs.enqueue_many(session, kind=GRADE_ATTEMPT, subject_ids=to_grade)
    jobs.enqueue_many(session, kind=ESTIMATE_ABILITY, subject_ids=to_estimate)
    for item in planned:
        session.expunge(item.result)
        for response in item.responses.values():
            session.expunge(response)
    for attempt in attempts.values():
        session.expunge(attempt)


def regrade(
    session: Session,
    *,
    actor: Actor,
    assessment_id: int,
    question_id: int,
    dry_run: bool,
    batch: int = BATCH,
) -> RegradeReport:
    """Re-score the submitted attempts of ``question_id`` against its current version (dry run:
    compute only). For the assessment's owning author or an admin, like editing it."""
    question, assessment = _question(
        session, actor=actor, assessment_id=assessment_id, question_id=question_id
    )
    view = load_view(session, assessment=assessment)
    now = utcnow()
    report = RegradeReport(
        question_id=question.id,
        assessment_id=assessment.id,
        version=question.version,
        dry_run=dry_run,
        regraded_at=None if dry_run else now,
    )
    for planned in _plan(session, question=question, view=view, batch=batch):
        report.attempts.extend(item.row for item in planned)
        if not dry_run and planned:
            _apply_batch(session, planned, question_id=question.id, now=now)
    if not dry_run and report.attempts:
        _record(session, actor=actor, report=report)
    return report


def _record(session: Session, *, actor: Actor, report: RegradeReport) -> None:
    """One event for the whole regrade: the versions the answers were scored against, the total
    score and the passes of the affected attempts, before and after (same keys: the log keeps
    the ones that changed)."""
    rows = report.attempts
    audit.record(
        session,
        actor=actor,
        action=audit.Action.QUESTION_REGRADED,
        subject=audit.Subject.QUESTION,
        subject_id=report.question_id,
        before={
            "versions": sorted({r.old_version for r in rows if r.old_version is not None}),
            "total_score": round(sum(r.old_score for r in rows), 4),
            "passed": sum(r.old_passed is True for r in rows),
            "regraded_attempts": 0,
        },
        after={
            "versions": [report.version],
            "total_score": round(sum(r.new_score for r in rows), 4),
            "passed": sum(r.new_passed is True for r in rows),
            "regraded_attempts": len(rows),
        },
    )


@dataclass(frozen=True, slots=True)
class VersionView:
    version: int
    created_at: datetime
    created_by_id: int | None
    content: dict[str, Any]
    answers: int  # answers scored against this version now


def versions(
    session: Session, *, actor: Actor, assessment_id: int, question_id: int
) -> list[VersionView]:
    """A question's versions, newest first, with how many answers are scored against each."""
    question, _ = _question(
        session, actor=actor, assessment_id=assessment_id, question_id=question_id
    )
    counts: dict[int, int] = dict(
        session.execute(
            select(Response.question_version, func.count())
            .where(Response.question_id == question.id)
            .group_by(Response.question_version)
        )
        .tuples()
        .all()
    )
    rows = session.scalars(
        select(QuestionVersion)
        .where(QuestionVersion.question_id == question.id)
        .order_by(QuestionVersion.version.desc())
    )
    return [
        VersionView(
            version=v.version,
            created_at=v.created_at,
            created_by_id=v.created_by_id,
            content=v.content,
            answers=int(counts.get(v.version, 0)),
        )
        for v in rows
    ]


__all__ = [
    "BATCH",
    "AttemptRegrade",
    "RegradeReport",
    "VersionView",
    "regrade",
    "rescored",
    "versions",
]
