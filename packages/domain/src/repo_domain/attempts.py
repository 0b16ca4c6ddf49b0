"""Attempts: start, save responses idempotently, submit exactly once, score, results, history."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from repo_db import DuplicateError, savepoint
from repo_db.models import AnswerOption, Assessment, Attempt, Question, Response, Result
from repo_domain import grading
from repo_domain.assessments import get_visible, load_view
from repo_domain.common import Actor, KeysetPage, as_utc, keyset_page, utcnow
from repo_domain.errors import Conflict, Forbidden, NotFound, InvalidInput

# Saves arriving a little after the deadline (network latency) are still accepted.
TIME_LIMIT_GRACE = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Answer:
    selected_option_ids: list[int] | None = None
    numeric_value: float | None = None
    text_value: str | None = None


def _owned_attempt(
    session: Session, *, actor: Actor, attempt_id: int, for_update: bool = False, write: bool
) -> Attempt:
    """Learners touch only their own attempts; admins may read (never write) anyone's."""
    stmt = select(Attempt).where(Attempt.id == attempt_id)
    if for_update:
        stmt = stmt.with_for_update()
    attempt = session.scalar(stmt)
    if attempt is None:
        raise NotFound("attempt not found")
    if attempt.user_id != actor.id and (write or not actor.is_admin):
        raise Forbidden("this attempt belongs to another user")
    return attempt


def _in_progress(session: Session, *, user_id: int, assessment_id: int) -> Attempt | None:
    return session.scalar(
        select(Attempt).where(
            Attempt.user_id == user_id,
            Attempt.assessment_id == assessment_id,
            Attempt.status == "in_progress",
        )
    )


def _attempts_used(session: Session, *, user_id: int, assessment_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.user_id == user_id, Attempt.assessment_id == assessment_id)
        )
        or 0
    )


def start_attempt(session: Session, *, actor: Actor, assessment_id: int) -> tuple[Attempt, bool]:
    """Returns (attempt, created): an unfinished attempt is resumed rather than duplicated.

    At most one attempt is in progress per learner and assessment: the partial unique index
    `uq_attempts_one_in_progress` decides racing starts, and the loser resumes the winner's.
    """
    assessment = get_visible(session, actor=actor, assessment_id=assessment_id)
    if assessment.status != "published":
        raise Conflict("only published assessments can be taken", code="not_published")
    existing = _in_progress(session, user_id=actor.id, assessment_id=assessment_id)
    if existing is not None:
        return existing, False
    if assessment.closes_at is not None and utcnow() >= as_utc(assessment.closes_at):
        raise Conflict("this assessment is closed", code="closed")
    limit = assessment.max_attempts
    if (
        limit is not None
        and _attempts_used(session, user_id=actor.id, assessment_id=assessment_id) >= limit
    ):
        raise Conflict(f"no attempts left (at most {limit})", code="no_attempts_left")
    attempt = Attempt(assessment_id=assessment_id, user_id=actor.id, status="in_progress")
    try:
        with savepoint(session):
            session.add(attempt)
            session.flush()
            # Count again after our insert: a concurrent start+submit between the check above
            # and the insert must not push the learner past the limit.
            if (
                limit is not None
                and _attempts_used(session, user_id=actor.id, assessment_id=assessment_id) > limit
            ):
                raise Conflict(f"no attempts left (at most {limit})", code="no_attempts_left")
    except DuplicateError as exc:  # a concurrent start won the insert: resume that attempt
        winner = _in_progress(session, user_id=actor.id, assessment_id=assessment_id)
        if winner is None:  # pragma: no cover - the winner was submitted in between
            raise Conflict("another attempt was started at the same time", code="retry") from exc
        return winner, False
    return attempt, True


def answers_visible(
    session: Session, *, actor: Actor, assessment: Assessment, user_id: int
) -> bool:
    """May `actor` see which answers of `user_id`'s attempts were correct?

    Managers (the owning author, admins) always; learners per the assessment's `show_answers`:
    never / after their last allowed attempt (never while retakes remain, so never with unlimited
    retakes) / after the close date.
    """
    if actor.is_admin or (actor.role == "author" and assessment.author_id == actor.id):
        return True
    policy = assessment.show_answers
    if policy == "after_last_attempt":
        limit = assessment.max_attempts
        return limit is not None and (
            _attempts_used(session, user_id=user_id, assessment_id=assessment.id) >= limit
        )
    if policy == "after_close":
        return assessment.closes_at is not None and utcnow() >= as_utc(assessment.closes_at)
    return False


def attempt_answers_visible(session: Session, *, actor: Actor, attempt: Attempt) -> bool:
    assessment = session.get(Assessment, attempt.assessment_id)
    return assessment is not None and answers_visible(
        session, actor=actor, assessment=assessment, user_id=attempt.user_id
    )


def redacted_details(details: dict[str, Any] | None) -> dict[str, Any] | None:
    """A result's details without per-question correctness (`is_correct` and `score`)."""
    if not details:
        return details
    copy = dict(details)
    copy["questions"] = [
        {**q, "is_correct": None, "score": None} for q in details.get("questions", [])
    ]
    copy["answers_hidden"] = True
    return copy


def result_details_for(session: Session, *, actor: Actor, result: Result) -> dict[str, Any] | None:
    """The details `actor` may see (a copy: the stored row is never modified)."""
    assessment = session.get(Assessment, result.assessment_id)
    if assessment is not None and answers_visible(
        session, actor=actor, assessment=assessment, user_id=result.user_id
    ):
        return result.details
    return redacted_details(result.details)


def get_attempt(
    session: Session, *, actor: Actor, attempt_id: int
) -> tuple[Attempt, list[Response]]:
    attempt = _owned_attempt(session, actor=actor, attempt_id=attempt_id, write=False)
    responses = list(
        session.scalars(
            select(Response).where(Response.attempt_id == attempt.id).order_by(Response.question_id)
        )
    )
    return attempt, responses


def _validate_answer(question: Question, option_ids: set[int], answer: Answer) -> Answer:
    kind = question.kind
    if kind in ("single_choice", "multiple_choice"):
        if answer.numeric_value is not None or answer.text_value is not None:
            raise InvalidInput("choice questions take selected_option_ids only", code="wrong_kind")
        selected = answer.selected_option_ids
        if selected is None:
            raise InvalidInput("selected_option_ids is required", code="wrong_kind")
        if len(set(selected)) != len(selected) or not set(selected) <= option_ids:
            raise InvalidInput("unknown or repeated option ids", code="invalid_option")
        if kind == "single_choice" and len(selected) > 1:
            raise InvalidInput("single_choice takes at most one option", code="invalid_option")
        return Answer(selected_option_ids=sorted(selected))
    if kind == "numeric":
        if answer.numeric_value is None or answer.selected_option_ids or answer.text_value:
            raise InvalidInput("numeric questions take numeric_value only", code="wrong_kind")
        return Answer(numeric_value=answer.numeric_value)
    if answer.text_value is None or answer.selected_option_ids or answer.numeric_value is not None:
        raise InvalidInput("free_text questions take text_value only", code="wrong_kind")
    return Answer(text_value=answer.text_value)


def save_response(
    session: Session, *, actor: Actor, attempt_id: int, question_id: int, answer: Answer
) -> tuple[Response, bool]:
    """Upsert one answer. Returns (response, changed); the same answer twice writes nothing.

    The attempt row is locked (PostgreSQL) so a save cannot slip in after a concurrent submit.
    """
    # One locking query for the attempt and its time limit (FOR UPDATE OF attempts only).
    row = session.execute(
        select(Attempt, Assessment.time_limit_seconds)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .where(Attempt.id == attempt_id)
        .with_for_update(of=Attempt)
    ).one_or_none()
    if row is None:
        raise NotFound("attempt not found")
    attempt, time_limit = row
    if attempt.user_id != actor.id:
        raise Forbidden("this attempt belongs to another user")
    if attempt.status != "in_progress":
        raise Conflict("attempt already submitted", code="already_submitted")
    if time_limit:
        deadline = as_utc(attempt.started_at) + timedelta(seconds=time_limit)
        if utcnow() > deadline + TIME_LIMIT_GRACE:
            raise Conflict("the time limit has passed", code="time_up")
    # The question, its option ids and the saved answer in one round trip (a save is the
    # hottest write: half of the scale run's requests).
    rows = session.execute(
        select(Question, AnswerOption.id, Response)
        .outerjoin(AnswerOption, AnswerOption.question_id == Question.id)
        .outerjoin(
            Response, (Response.attempt_id == attempt.id) & (Response.question_id == Question.id)
        )
        .where(Question.id == question_id, Question.assessment_id == attempt.assessment_id)
    ).all()
    if not rows:
        raise NotFound("question not found in this attempt's assessment")
    question, _, existing = rows[0]
    option_ids: set[int] = set()
    if question.kind in ("single_choice", "multiple_choice"):
        option_ids = {option_id for _, option_id, _ in rows if option_id is not None}
    clean = _validate_answer(question, option_ids, answer)
    if existing is None:
        # No SAVEPOINT against a concurrent insert of the same answer: the attempt row is locked
        # above (FOR UPDATE on PostgreSQL; SQLite's writing units hold the database's write
        # lock from BEGIN IMMEDIATE), so saves to one attempt run one at a time.
        response = Response(
            attempt_id=attempt.id,
            question_id=question.id,
            selected_option_ids=clean.selected_option_ids,
            numeric_value=clean.numeric_value,
            text_value=clean.text_value,
            grading_status="not_required",
            updated_at=utcnow(),
        )
        session.add(response)
        session.flush()
        return response, True
    same = (
        existing.selected_option_ids == clean.selected_option_ids
        and existing.numeric_value == clean.numeric_value
        and existing.text_value == clean.text_value
    )
    if same:
        return existing, False
    existing.selected_option_ids = clean.selected_option_ids
    existing.numeric_value = clean.numeric_value
    existing.text_value = clean.text_value
    existing.updated_at = utcnow()
    session.flush()
    return existing, True


def _score_question(
    question: Question, options: list[AnswerOption], response: Response | None
) -> tuple[float, bool | None, str]:
    """(score, is_correct, grading_status) of one question; free text goes to AI grading."""
    if question.kind == "free_text":
        if response is None or not (response.text_value or "").strip():
            return 0.0, False, "graded"
        return 0.0, None, "pending"
    if response is None:
        return 0.0, False, "not_required"
    if question.kind == "numeric":
        if response.numeric_value is None or question.numeric_answer is None:
            return 0.0, False, "not_required"
        tolerance = question.numeric_tolerance or 0.0
        slack = 1e-9 * max(1.0, abs(question.numeric_answer))
        ok = math.fabs(response.numeric_value - question.numeric_answer) <= tolerance + slack
    else:
        correct = {o.id for o in options if o.is_correct}
        ok = set(response.selected_option_ids or []) == correct
    return (question.points if ok else 0.0), ok, "not_required"


#: Public name for repo_domain.adaptive, which scores answers before the attempt is submitted.
score_question = _score_question


def submit(session: Session, *, actor: Actor, attempt_id: int) -> tuple[Attempt, Result]:
    """Submit exactly once: a conditional UPDATE decides the single winner of racing submits.

    The UPDATE is the transaction's first statement, so on SQLite it waits for the write lock
    instead of failing to upgrade a stale read snapshot; on PostgreSQL the loser blocks on the row
    lock, then re-checks `status` and matches nothing.
    """
    attempt = session.scalars(
        update(Attempt)
        .where(
            Attempt.id == attempt_id,
            Attempt.user_id == actor.id,
            Attempt.status == "in_progress",
        )
        .values(status="grading", submitted_at=utcnow())
        .returning(Attempt)  # the winner gets the row back: no second round trip to load it
        .execution_options(populate_existing=True)
    ).one_or_none()
    if attempt is None:
        _owned_attempt(session, actor=actor, attempt_id=attempt_id, write=True)  # 404 / 403
        raise Conflict("attempt already submitted", code="already_submitted")

    assessment = session.get(Assessment, attempt.assessment_id)
    if assessment is None:
        raise NotFound("assessment not found")
    view = load_view(session, assessment=assessment)
    responses = {
        r.question_id: r
        for r in session.scalars(select(Response).where(Response.attempt_id == attempt.id))
    }
    score = max_score = 0.0
    pending = 0
    details: list[dict[str, Any]] = []
    for question in view.questions:
        response = responses.get(question.id)
        q_score, is_correct, grading = _score_question(
            question, view.options[question.id], response
        )
        max_score += question.points
        score += q_score
        pending += grading == "pending"
        if response is not None:
            response.score = None if grading == "pending" else q_score
            response.is_correct = is_correct
            response.grading_status = grading
        details.append(
            {
                "question_id": question.id,
                "kind": question.kind,
                "points": question.points,
                "score": None if grading == "pending" else q_score,
                "is_correct": is_correct,
                "grading_status": grading if response is not None else "unanswered",
            }
        )
    percent = round(100.0 * score / max_score, 4) if max_score else 0.0
    attempt.status = "grading" if pending else "graded"
    result = Result(
        attempt_id=attempt.id,
        user_id=attempt.user_id,
        assessment_id=attempt.assessment_id,
        score=score,
        max_score=max_score,
        percent=percent,
        # Final only when every free-text answer has a grade: no provisional pass or fail.
        passed=None if pending else percent >= assessment.pass_percent,
        details={"questions": details, "pending": pending},
    )
    session.add(result)
    session.flush()
    _after_submit(session, attempt=attempt)
    return attempt, result


def _after_submit(session: Session, *, attempt: Attempt) -> None:
    """Queue AI grading (free text) or the ability re-estimate for the submitted attempt."""
    grading.on_submitted(session, attempt=attempt)
    if assessment_is_adaptive(session, attempt=attempt):
        grading.refresh_result(session, attempt_id=attempt.id)


def assessment_is_adaptive(session: Session, *, attempt: Attempt) -> bool:
    assessment = session.get(Assessment, attempt.assessment_id)
    return bool(assessment is not None and assessment.adaptive)


def get_result(session: Session, *, actor: Actor, attempt_id: int) -> Result:
    attempt = _owned_attempt(session, actor=actor, attempt_id=attempt_id, write=False)
    result = session.scalar(select(Result).where(Result.attempt_id == attempt.id))
    if result is None:
        raise NotFound("no result yet: the attempt has not been submitted", code="no_result")
    return result


def history(
    session: Session, *, actor: Actor, user_id: int | None, after: int | None, limit: int
) -> KeysetPage[Row[Any]]:
    """A user's attempts with result summaries, keyset on ix_attempts_user_id_id."""
    target = actor.id if user_id is None else user_id
    if target != actor.id and not actor.is_admin:
        raise Forbidden("you may only see your own history")
    stmt = (
        select(
            Attempt.id,
            Attempt.assessment_id,
            Attempt.user_id,
            Attempt.status,
            Attempt.started_at,
            Attempt.submitted_at,
            Assessment.title.label("assessment_title"),
            Result.score,
            Result.max_score,
            Result.percent,
            Result.passed,
        )
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .outerjoin(Result, Result.attempt_id == Attempt.id)
        .where(Attempt.user_id == target)
        .order_by(Attempt.id)
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(Attempt.id > after)
    return keyset_page(session.execute(stmt).all(), limit=limit)
