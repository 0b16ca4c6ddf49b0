"""Attempts: start, save responses idempotently (the adaptive rule included), submit exactly
once, and the read models a learner fetches (attempt, result, history, next question), each
shaped by the answer-visibility policy (repo_domain.visibility)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from repo_db import DuplicateError, exposure, savepoint
from repo_db.models import (
    AnswerOption,
    Assessment,
    AssessmentStatus,
    Attempt,
    AttemptStatus,
    GradingStatus,
    Question,
    QuestionKind,
    Response,
    Result,
)
from repo_domain import adaptive, grading, results, validation, visibility
from repo_domain.assessments import get_visible, load_view
from repo_domain.common import Actor, KeysetPage, as_utc, keyset_page, utcnow
from repo_domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from repo_domain.validation import NUMBER_MAX, OPTIONS_MAX, TEXT_ANSWER_MAX
from repo_domain.visibility import ResponseView, ResultView

# Saves arriving a little after the deadline (network latency) are still accepted.
TIME_LIMIT_GRACE = timedelta(seconds=30)
#: Conflict codes of the adaptive rule (save_response): not the served question / answered once.
ADAPTIVE_NOT_SERVED = "adaptive_not_served"
ADAPTIVE_ANSWER_FINAL = "adaptive_answer_final"
ADAPTIVE_REFUSALS = frozenset({ADAPTIVE_NOT_SERVED, ADAPTIVE_ANSWER_FINAL})
# A save goes to an attempt in progress: what the visibility policy needs to know about it.
_IN_PROGRESS = visibility.AttemptCounts(in_progress=1)


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
            Attempt.status == AttemptStatus.IN_PROGRESS,
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


class StartAction(StrEnum):
    """What starting an assessment would do for a learner now (the button a page shows)."""

    START = "start"  # no attempt yet
    RESUME = "resume"  # an attempt is in progress: starting resumes it
    RETAKE = "retake"  # attempts submitted, another one allowed
    NO_ATTEMPTS_LEFT = "no_attempts_left"
    CLOSED = "closed"  # past closes_at and nothing to resume


@dataclass(frozen=True, slots=True)
class Standing:
    """A learner's attempts at one assessment, as ``start_attempt`` would judge them."""

    action: StartAction
    attempts_used: int
    max_attempts: int | None
    in_progress_attempt_id: int | None


def standing(session: Session, *, actor: Actor, assessment: Assessment) -> Standing:
    """Whether ``start_attempt`` would start, resume or refuse, without doing it: the pages
    label their button from this, so "Start" is never shown for an attempt that resumes."""
    existing = _in_progress(session, user_id=actor.id, assessment_id=assessment.id)
    used = _attempts_used(session, user_id=actor.id, assessment_id=assessment.id)
    limit = assessment.max_attempts
    if existing is not None:
        action = StartAction.RESUME
    elif assessment.closes_at is not None and utcnow() >= as_utc(assessment.closes_at):
        action = StartAction.CLOSED
    elif limit is not None and used >= limit:
        action = StartAction.NO_ATTEMPTS_LEFT
    else:
        action = StartAction.RETAKE if used else StartAction.START
    return Standing(
        action=action,
        attempts_used=used,
        max_attempts=limit,
        in_progress_attempt_id=existing.id if existing is not None else None,
    )


def start_attempt(session: Session, *, actor: Actor, assessment_id: int) -> tuple[Attempt, bool]:
    """Returns (attempt, created): an unfinished attempt is resumed rather than duplicated.

    At most one attempt is in progress per learner and assessment: the partial unique index
    `uq_attempts_one_in_progress` decides racing starts, and the loser resumes the winner's.
    """
    assessment = get_visible(session, actor=actor, assessment_id=assessment_id)
    if assessment.status != AssessmentStatus.PUBLISHED:
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
    attempt = Attempt(
        assessment_id=assessment_id, user_id=actor.id, status=AttemptStatus.IN_PROGRESS
    )
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
    if assessment.adaptive:
        # N of the exposure cap counts this attempt before its first question is claimed.
        exposure.count_start(session, assessment_id=assessment_id)
        adaptive.serve(session, attempt=attempt)
    return attempt, True


def get_attempt(
    session: Session, *, actor: Actor, attempt_id: int
) -> tuple[Attempt, list[Response]]:
    """The attempt and its rows (own, or any for admins): for the domain's own use; adapters
    fetch :func:`attempt_detail`, which applies the answer-visibility policy."""
    attempt = _owned_attempt(session, actor=actor, attempt_id=attempt_id, write=False)
    responses = list(
        session.scalars(
            select(Response).where(Response.attempt_id == attempt.id).order_by(Response.question_id)
        )
    )
    return attempt, responses


@dataclass(frozen=True, slots=True)
class AttemptDetail:
    attempt: Attempt
    assessment: Assessment
    responses: list[ResponseView]
    answers_visible: bool


def attempt_detail(session: Session, *, actor: Actor, attempt_id: int) -> AttemptDetail:
    """An attempt with its saved answers, as ``actor`` may see them."""
    attempt, responses = get_attempt(session, actor=actor, attempt_id=attempt_id)
    assessment = session.get(Assessment, attempt.assessment_id)
    assert assessment is not None  # attempts.assessment_id is a foreign key
    visible = visibility.answers_visible(
        session, actor=actor, assessment=assessment, user_id=attempt.user_id
    )
    return AttemptDetail(
        attempt=attempt,
        assessment=assessment,
        responses=[visibility.response_view(r, visible=visible) for r in responses],
        answers_visible=visible,
    )


def _validate_answer(question: Question, option_ids: set[int], answer: Answer) -> Answer:
    """The answer in the shape its question takes, with its values checked (limits, characters)."""
    kind = question.kind
    if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
        if answer.numeric_value is not None or answer.text_value is not None:
            raise InvalidInput(
                "choice questions take selected_option_ids only",
                code="wrong_kind",
                field="selected_option_ids",
            )
        selected = answer.selected_option_ids
        if selected is None:
            raise InvalidInput(
                "selected_option_ids is required", code="wrong_kind", field="selected_option_ids"
            )
        validation.count_at_most(selected, field="selected_option_ids", maximum=OPTIONS_MAX)
        if len(set(selected)) != len(selected) or not set(selected) <= option_ids:
            raise InvalidInput(
                "unknown or repeated option ids", code="invalid_option", field="selected_option_ids"
            )
        if kind == QuestionKind.SINGLE_CHOICE and len(selected) > 1:
            raise InvalidInput(
                "single_choice takes at most one option",
                code="invalid_option",
                field="selected_option_ids",
            )
        return Answer(selected_option_ids=sorted(selected))
    if kind == QuestionKind.NUMERIC:
        if answer.numeric_value is None or answer.selected_option_ids or answer.text_value:
            raise InvalidInput(
                "numeric questions take numeric_value only",
                code="wrong_kind",
                field="numeric_value",
            )
        value = validation.number(
            answer.numeric_value, field="numeric_value", minimum=-NUMBER_MAX, maximum=NUMBER_MAX
        )
        return Answer(numeric_value=value)
    if answer.text_value is None or answer.selected_option_ids or answer.numeric_value is not None:
        raise InvalidInput(
            "free_text questions take text_value only", code="wrong_kind", field="text_value"
        )
    text = validation.text(
        answer.text_value, field="text_value", max_length=TEXT_ANSWER_MAX, multiline=True
    )
    return Answer(text_value=text)


def save_response(
    session: Session, *, actor: Actor, attempt_id: int, question_id: int, answer: Answer
) -> tuple[ResponseView, bool]:
    """Upsert one answer. Returns (the saved answer as the learner sees it, changed); the same
    answer twice writes nothing.

    The attempt row is locked (PostgreSQL) so a save cannot slip in after a concurrent submit.
    An adaptive assessment takes only the question it serves next (``repo_domain.adaptive``),
    and an answer given there is final: otherwise a learner could pick questions or revise an
    answer after seeing which question followed it (which tells whether it was right).
    """
    # One locking query for the attempt and its assessment (FOR UPDATE OF attempts only).
    row = session.execute(
        select(Attempt, Assessment)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .where(Attempt.id == attempt_id)
        .with_for_update(of=Attempt)
    ).one_or_none()
    if row is None:
        raise NotFound("attempt not found")
    attempt, assessment = row
    if attempt.user_id != actor.id:
        raise Forbidden("this attempt belongs to another user")
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise Conflict("attempt already submitted", code="already_submitted")
    if assessment.time_limit_seconds:
        deadline = as_utc(attempt.started_at) + timedelta(seconds=assessment.time_limit_seconds)
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
    if question.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
        option_ids = {option_id for _, option_id, _ in rows if option_id is not None}
    if assessment.adaptive and existing is None:
        _check_served(session, attempt=attempt, question=question)
    clean = _validate_answer(question, option_ids, answer)
    # The attempt is in progress, so the policy hides correctness from its learner (who is the
    # only one who may save to it); decided without a query.
    visible = visibility.decide(
        actor, visibility.AnswerPolicy.of(assessment), _IN_PROGRESS, now=utcnow()
    )
    same = existing is not None and (
        existing.selected_option_ids == clean.selected_option_ids
        and existing.numeric_value == clean.numeric_value
        and existing.text_value == clean.text_value
    )
    if same:
        return visibility.response_view(existing, visible=visible), False
    if assessment.adaptive and existing is not None:
        raise Conflict(
            "an answer in an adaptive test cannot be changed", code=ADAPTIVE_ANSWER_FINAL
        )
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
            grading_status=GradingStatus.NOT_REQUIRED,
            question_version=question.version,
            updated_at=utcnow(),
        )
        session.add(response)
        session.flush()
        if assessment.adaptive:  # the next question is served (claimed) with this answer
            adaptive.serve(session, attempt=attempt)
        return visibility.response_view(response, visible=visible), True
    existing.selected_option_ids = clean.selected_option_ids
    existing.numeric_value = clean.numeric_value
    existing.text_value = clean.text_value
    existing.question_version = question.version
    existing.updated_at = utcnow()
    session.flush()
    return visibility.response_view(existing, visible=visible), True


def _check_served(session: Session, *, attempt: Attempt, question: Question) -> None:
    """The adaptive rule's first half: a new answer goes to the question served now (claimed
    here if the attempt had only a preview: started before migration 0010)."""
    plan = adaptive.plan(session, attempt=attempt)
    if plan.question_id is not None and plan.question_id != attempt.served_question_id:
        plan = adaptive.serve(session, attempt=attempt)
    if plan.question_id != question.id:
        raise Conflict(
            "an adaptive test takes only the question it serves next", code=ADAPTIVE_NOT_SERVED
        )


def submit(session: Session, *, actor: Actor, attempt_id: int) -> tuple[Attempt, ResultView]:
    """Submit exactly once: a conditional UPDATE decides the single winner of racing submits.

    The UPDATE is the transaction's first statement, so on SQLite it waits for the write lock
    instead of failing to upgrade a stale read snapshot; on PostgreSQL the loser blocks on the row
    lock, then re-checks `status` and matches nothing. Returns the result as ``actor`` may see it.
    """
    attempt = session.scalars(
        update(Attempt)
        .where(
            Attempt.id == attempt_id,
            Attempt.user_id == actor.id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
        )
        .values(status=AttemptStatus.GRADING, submitted_at=utcnow())
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
    computed = results.compute(
        assessment=assessment,
        questions=view.questions,
        options=view.options,
        responses=responses,
    )
    attempt.status = AttemptStatus.GRADING if computed.pending else AttemptStatus.GRADED
    result = Result(attempt_id=attempt.id, user_id=attempt.user_id, assessment_id=assessment.id)
    results.apply(computed, result=result, responses=responses)
    session.add(result)
    session.flush()
    grading.on_submitted(session, attempt=attempt)
    visible = visibility.answers_visible(
        session, actor=actor, assessment=assessment, user_id=attempt.user_id
    )
    return attempt, visibility.result_view(result, visible=visible)


def get_result(session: Session, *, actor: Actor, attempt_id: int) -> ResultView:
    """The attempt's result as ``actor`` may see it (NotFound before it is submitted)."""
    attempt = _owned_attempt(session, actor=actor, attempt_id=attempt_id, write=False)
    result = session.scalar(select(Result).where(Result.attempt_id == attempt.id))
    if result is None:
        raise NotFound("no result yet: the attempt has not been submitted", code="no_result")
    assessment = session.get(Assessment, attempt.assessment_id)
    assert assessment is not None  # attempts.assessment_id is a foreign key
    visible = visibility.answers_visible(
        session, actor=actor, assessment=assessment, user_id=attempt.user_id
    )
    return visibility.result_view(result, visible=visible)


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """An attempt with its result's totals as the caller may see them (None: not submitted
    yet, or hidden by the answer-visibility policy)."""

    id: int
    assessment_id: int
    user_id: int
    status: str
    started_at: datetime
    submitted_at: datetime | None
    assessment_title: str
    answers_visible: bool
    score: float | None
    max_score: float | None
    percent: float | None
    passed: bool | None


def history(
    session: Session, *, actor: Actor, user_id: int | None, after: int | None, limit: int
) -> KeysetPage[HistoryItem]:
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
        .where(Attempt.user_id == target)
        .order_by(Attempt.id)
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(Attempt.id > after)
    rows = session.execute(stmt).all()
    visible = visibility.visible_many(
        session, actor=actor, user_id=target, policies=visibility.policies_of(rows[:limit]).values()
    )
    items = []
    for r in rows:
        totals = visibility.score_summary(
            visible=visible.get(r.assessment_id, False),
            score=r.score,
            max_score=r.max_score,
            percent=r.percent,
            passed=r.passed,
        )
        items.append(
            HistoryItem(
                id=r.id,
                assessment_id=r.assessment_id,
                user_id=r.user_id,
                status=r.status,
                started_at=r.started_at,
                submitted_at=r.submitted_at,
                assessment_title=r.assessment_title,
                answers_visible=totals.answers_visible,
                score=totals.score,
                max_score=totals.max_score,
                percent=totals.percent,
                passed=totals.passed,
            )
        )
    return keyset_page(items, limit=limit)


@dataclass(frozen=True, slots=True)
class ServedOption:
    id: int
    text: str


@dataclass(frozen=True, slots=True)
class ServedQuestion:
    """What a learner needs to answer a question: never its key."""

    id: int
    position: int
    kind: str
    prompt: str
    points: float
    options: list[ServedOption]


@dataclass(frozen=True, slots=True)
class NextQuestion:
    """Where an adaptive attempt stands: the question to answer now (None when done) and why.
    Never the learner's ability: it moves with every right or wrong answer."""

    question: ServedQuestion | None
    done: bool
    reason: adaptive.Reason
    n_answered: int
    n_questions: int

    @property
    def question_id(self) -> int | None:
        return self.question.id if self.question is not None else None

    @property
    def position(self) -> int | None:
        return self.question.position if self.question is not None else None


def next_question(session: Session, *, actor: Actor, attempt_id: int) -> NextQuestion:
    """The adaptive flow's next question, for the attempt's owner (or an admin)."""
    attempt = _owned_attempt(session, actor=actor, attempt_id=attempt_id, write=False)
    assessment = session.get(Assessment, attempt.assessment_id)
    assert assessment is not None  # attempts.assessment_id is a foreign key
    if not assessment.adaptive:
        raise Conflict(
            "next-question serves adaptive assessments only; this one takes its questions "
            "in any order",
            code="not_adaptive",
        )
    view = load_view(session, assessment=assessment)
    plan = adaptive.plan(session, attempt=attempt, view=view)
    served = None
    if plan.question_id is not None:
        q = next(q for q in view.questions if q.id == plan.question_id)
        served = ServedQuestion(
            id=q.id,
            position=q.position,
            kind=q.kind,
            prompt=q.prompt,
            points=q.points,
            options=[ServedOption(o.id, o.text) for o in view.options[q.id]],
        )
    return NextQuestion(
        question=served,
        done=plan.question_id is None,
        reason=plan.reason,
        n_answered=plan.n_answered,
        n_questions=plan.n_questions,
    )
