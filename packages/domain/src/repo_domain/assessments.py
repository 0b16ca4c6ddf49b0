"""Authoring (create/edit/publish/archive, questions one at a time), visibility rules and the
published catalogue.

Every command checks its own input (`repo_domain.validation` limits, `QuestionSpec.validated`),
so the API and the web UI cannot disagree about what an assessment may contain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from repo_db.models import (
    AnswerOption,
    Assessment,
    AssessmentStatus,
    Question,
    ShowAnswers,
)
from repo_domain import audit
from repo_domain.common import Actor, KeysetPage, keyset_page, like_pattern, utcnow
from repo_domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from repo_domain.questions import (
    OptionSpec,
    QuestionSpec,
    correct_content,
    delete_rows,
    insert_question,
    replace_content,
    shift_positions,
)
from repo_domain.validation import (
    ADAPTIVE_LENGTH_MAX,
    DESCRIPTION_MAX,
    MAX_ATTEMPTS_MAX,
    MAX_EXPOSURE_MAX,
    MAX_EXPOSURE_MIN,
    MAX_ID,
    QUESTIONS_MAX,
    SEARCH_QUERY_MAX,
    TARGET_SE_MAX,
    TIME_LIMIT_SECONDS_MAX,
    TIME_LIMIT_SECONDS_MIN,
    TITLE_MAX,
    count_at_most,
    identifier,
    integer,
    number,
    optional_text,
    text,
)
from repo_domain.visibility import is_manager


class _Unset(Enum):
    UNSET = "unset"


#: "Leave as it is" in `update_assessment`, where None means "no limit" / "no closing time".
UNSET: Final = _Unset.UNSET


@dataclass(slots=True)
class AssessmentView:
    """An assessment with its questions and options in position order (loaded in 3 queries)."""

    assessment: Assessment
    questions: list[Question]
    options: dict[int, list[AnswerOption]]


def _get(session: Session, assessment_id: int, *, for_update: bool = False) -> Assessment:
    identifier(assessment_id, field="assessment_id")
    stmt = select(Assessment).where(Assessment.id == assessment_id)
    if for_update:
        stmt = stmt.with_for_update()
    assessment = session.scalar(stmt)
    if assessment is None:
        raise NotFound("assessment not found")
    return assessment


def get_visible(session: Session, *, actor: Actor, assessment_id: int) -> Assessment:
    """Published ones are visible to everyone; drafts/archived only to their managers (else 404)."""
    assessment = _get(session, assessment_id)
    if assessment.status != AssessmentStatus.PUBLISHED and not is_manager(
        actor, author_id=assessment.author_id
    ):
        raise NotFound("assessment not found")
    return assessment


def get_managed(
    session: Session, *, actor: Actor, assessment_id: int, for_update: bool = False
) -> Assessment:
    """The owning author or an admin; others get 403 (or 404 if they cannot even see it)."""
    assessment = _get(session, assessment_id, for_update=for_update)
    if not is_manager(actor, author_id=assessment.author_id):
        if assessment.status != AssessmentStatus.PUBLISHED:
            raise NotFound("assessment not found")
        raise Forbidden("only the owning author or an admin may do this")
    return assessment


def load_view(session: Session, *, assessment: Assessment) -> AssessmentView:
    questions = list(
        session.scalars(
            select(Question)
            .where(Question.assessment_id == assessment.id)
            .order_by(Question.position)
        )
    )
    options: dict[int, list[AnswerOption]] = {q.id: [] for q in questions}
    if questions:
        rows = session.scalars(
            select(AnswerOption)
            .where(AnswerOption.question_id.in_(list(options)))
            .order_by(AnswerOption.question_id, AnswerOption.position)
        )
        for option in rows:
            options[option.question_id].append(option)
    return AssessmentView(assessment=assessment, questions=questions, options=options)


def _title(value: str) -> str:
    return text(value, field="title", max_length=TITLE_MAX, required=True)


def _description(value: str | None) -> str:
    return text(value, field="description", max_length=DESCRIPTION_MAX, multiline=True)


def _time_limit(value: int | None) -> int | None:
    if value is None:
        return None
    return integer(
        value,
        field="time_limit_seconds",
        minimum=TIME_LIMIT_SECONDS_MIN,
        maximum=TIME_LIMIT_SECONDS_MAX,
    )


def _pass_percent(value: float) -> float:
    return number(value, field="pass_percent", minimum=0, maximum=100)


def _max_attempts(value: int | None) -> int | None:
    if value is None:
        return None
    return integer(value, field="max_attempts", minimum=1, maximum=MAX_ATTEMPTS_MAX)


def _show_answers(value: ShowAnswers | str) -> ShowAnswers:
    try:
        return ShowAnswers(value)
    except ValueError:
        raise InvalidInput(
            f"show_answers must be one of {', '.join(ShowAnswers)}",
            code="invalid_policy",
            field="show_answers",
        ) from None


def _closes_at(value: datetime | None) -> datetime | None:
    if value is not None and not isinstance(value, datetime):
        raise InvalidInput("closes_at must be a date and time", code="invalid", field="closes_at")
    return value


def _target_se(value: float | None) -> float | None:
    if value is None:
        return None
    se = number(value, field="adaptive_target_se", minimum=0, maximum=TARGET_SE_MAX)
    if se == 0:
        raise InvalidInput(
            "adaptive_target_se must be above 0", code="out_of_range", field="adaptive_target_se"
        )
    return se


def _adaptive_length(value: int | None, *, field: str) -> int | None:
    if value is None:
        return None
    return integer(value, field=field, minimum=1, maximum=ADAPTIVE_LENGTH_MAX)


def _max_exposure(value: float | None) -> float | None:
    if value is None:
        return None
    return number(
        value, field="adaptive_max_exposure", minimum=MAX_EXPOSURE_MIN, maximum=MAX_EXPOSURE_MAX
    )


def _check_lengths(*, min_length: int | None, max_length: int | None) -> None:
    if min_length is not None and max_length is not None and min_length > max_length:
        raise InvalidInput(
            "adaptive_min_length must not be above adaptive_max_length",
            code="out_of_range",
            field="adaptive_min_length",
        )


def _check_policy(*, show_answers: str, closes_at: datetime | None) -> None:
    """Rules between fields, on the values the assessment ends up with."""
    if show_answers == ShowAnswers.AFTER_CLOSE and closes_at is None:
        raise InvalidInput(
            f"show_answers={ShowAnswers.AFTER_CLOSE} needs closes_at",
            code="invalid_policy",
            field="closes_at",
        )


def _validated_questions(specs: Sequence[QuestionSpec]) -> list[QuestionSpec]:
    count_at_most(specs, field="questions", maximum=QUESTIONS_MAX)
    validated = []
    for i, spec in enumerate(specs):
        try:
            validated.append(spec.validated())
        except InvalidInput as exc:
            where = f"questions[{i}]"
            raise InvalidInput(
                f"question {i + 1}: {exc.message}",
                code=exc.code,
                field=f"{where}.{exc.field}" if exc.field else where,
            ) from None
    return validated


def create_assessment(
    session: Session,
    *,
    actor: Actor,
    title: str,
    description: str,
    time_limit_seconds: int | None,
    pass_percent: float,
    questions: Sequence[QuestionSpec],
    max_attempts: int | None = None,
    show_answers: ShowAnswers | str = ShowAnswers.AFTER_LAST_ATTEMPT,
    closes_at: datetime | None = None,
    adaptive: bool = False,
    adaptive_target_se: float | None = None,
    adaptive_min_length: int | None = None,
    adaptive_max_length: int | None = None,
    adaptive_max_exposure: float | None = None,
) -> Assessment:
    """A draft with its settings and (optionally) all its questions in one go. The adaptive
    limits left None take the defaults of ``repo_domain.adaptive.policy_for``."""
    if not actor.can_author:
        raise Forbidden("only authors and admins may create assessments")
    if not isinstance(adaptive, bool):
        raise InvalidInput("adaptive is true or false", code="invalid", field="adaptive")
    assessment = Assessment(
        author_id=actor.id,
        title=_title(title),
        description=_description(description),
        time_limit_seconds=_time_limit(time_limit_seconds),
        pass_percent=_pass_percent(pass_percent),
        adaptive=adaptive,
        adaptive_target_se=_target_se(adaptive_target_se),
        adaptive_min_length=_adaptive_length(adaptive_min_length, field="adaptive_min_length"),
        adaptive_max_length=_adaptive_length(adaptive_max_length, field="adaptive_max_length"),
        adaptive_max_exposure=_max_exposure(adaptive_max_exposure),
        status=AssessmentStatus.DRAFT,
        max_attempts=_max_attempts(max_attempts),
        show_answers=_show_answers(show_answers),
        closes_at=_closes_at(closes_at),
    )
    _check_policy(show_answers=assessment.show_answers, closes_at=assessment.closes_at)
    _check_lengths(
        min_length=assessment.adaptive_min_length, max_length=assessment.adaptive_max_length
    )
    specs = _validated_questions(questions)
    session.add(assessment)
    session.flush()
    for position, spec in enumerate(specs):
        insert_question(session, assessment_id=assessment.id, position=position, spec=spec)
    audit.record(
        session,
        actor=actor,
        action=audit.Action.ASSESSMENT_CREATED,
        subject=audit.Subject.ASSESSMENT,
        subject_id=assessment.id,
        after={"title": assessment.title, "questions": len(specs)},
    )
    return assessment


def update_assessment(
    session: Session,
    *,
    actor: Actor,
    assessment_id: int,
    title: str | _Unset = UNSET,
    description: str | _Unset = UNSET,
    time_limit_seconds: int | None | _Unset = UNSET,
    pass_percent: float | _Unset = UNSET,
    max_attempts: int | None | _Unset = UNSET,
    show_answers: ShowAnswers | str | _Unset = UNSET,
    closes_at: datetime | None | _Unset = UNSET,
    adaptive_min_length: int | None | _Unset = UNSET,
    adaptive_max_length: int | None | _Unset = UNSET,
    adaptive_max_exposure: float | None | _Unset = UNSET,
) -> Assessment:
    """Change the settings given (UNSET: unchanged; None clears a limit or the closing time,
    or puts an adaptive limit back to its default).

    Scoring-relevant settings are frozen once published, so past results stay comparable; the
    attempt policy (max_attempts, show_answers, closes_at) and the adaptive limits (lengths,
    maximum exposure: they change which questions later learners are served, not how answers
    score) may change until archived. Questions
    change one at a time (`add_question`, `change_question`, `move_question`, `delete_question`).
    """
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id, for_update=True)
    if assessment.status == AssessmentStatus.ARCHIVED:
        raise Conflict("archived assessments cannot be edited", code="archived")
    scoring_change = time_limit_seconds is not UNSET or pass_percent is not UNSET
    if scoring_change and assessment.status != AssessmentStatus.DRAFT:
        raise Conflict("pass mark and time limit can only change in draft", code="not_draft")
    # Everything is checked before anything changes: an adapter that shows a form error goes
    # on to commit its unit of work, which must then hold no half-applied update.
    changes: dict[str, Any] = {}
    if not isinstance(title, _Unset):
        changes["title"] = _title(title)
    if not isinstance(description, _Unset):
        changes["description"] = _description(description)
    if not isinstance(time_limit_seconds, _Unset):
        changes["time_limit_seconds"] = _time_limit(time_limit_seconds)
    if not isinstance(pass_percent, _Unset):
        changes["pass_percent"] = _pass_percent(pass_percent)
    if not isinstance(max_attempts, _Unset):
        changes["max_attempts"] = _max_attempts(max_attempts)
    if not isinstance(show_answers, _Unset):
        changes["show_answers"] = _show_answers(show_answers)
    if not isinstance(closes_at, _Unset):
        changes["closes_at"] = _closes_at(closes_at)
    if not isinstance(adaptive_min_length, _Unset):
        changes["adaptive_min_length"] = _adaptive_length(
            adaptive_min_length, field="adaptive_min_length"
        )
    if not isinstance(adaptive_max_length, _Unset):
        changes["adaptive_max_length"] = _adaptive_length(
            adaptive_max_length, field="adaptive_max_length"
        )
    if not isinstance(adaptive_max_exposure, _Unset):
        changes["adaptive_max_exposure"] = _max_exposure(adaptive_max_exposure)
    _check_policy(
        show_answers=changes.get("show_answers", assessment.show_answers),
        closes_at=changes.get("closes_at", assessment.closes_at),
    )
    _check_lengths(
        min_length=changes.get("adaptive_min_length", assessment.adaptive_min_length),
        max_length=changes.get("adaptive_max_length", assessment.adaptive_max_length),
    )
    before = {name: getattr(assessment, name) for name in changes}
    for name, value in changes.items():
        setattr(assessment, name, value)
    assessment.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=audit.Action.ASSESSMENT_UPDATED,
        subject=audit.Subject.ASSESSMENT,
        subject_id=assessment.id,
        before=before,
        after=changes,
    )
    return assessment


# --- Questions, one at a time (draft only): other questions' rows are never rewritten ---------


def _draft_for_update(session: Session, *, actor: Actor, assessment_id: int) -> Assessment:
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id, for_update=True)
    if assessment.status != AssessmentStatus.DRAFT:
        raise Conflict(
            "questions can only change while the assessment is a draft", code="not_draft"
        )
    return assessment


def _question_in(session: Session, assessment: Assessment, question_id: int) -> Question:
    identifier(question_id, field="question_id")
    question = session.scalar(
        select(Question).where(Question.id == question_id, Question.assessment_id == assessment.id)
    )
    if question is None:
        raise NotFound("question not found")
    return question


def _question_count(session: Session, assessment_id: int) -> int:
    count = session.scalar(
        select(func.count()).select_from(Question).where(Question.assessment_id == assessment_id)
    )
    return count or 0


def add_question(
    session: Session, *, actor: Actor, assessment_id: int, spec: QuestionSpec
) -> Question:
    """Append a question after the last one."""
    assessment = _draft_for_update(session, actor=actor, assessment_id=assessment_id)
    validated = spec.validated()
    count = _question_count(session, assessment.id)
    if count >= QUESTIONS_MAX:
        raise InvalidInput(
            f"an assessment has at most {QUESTIONS_MAX} questions",
            code="too_many",
            field="questions",
        )
    question = insert_question(session, assessment_id=assessment.id, position=count, spec=validated)
    assessment.updated_at = utcnow()
    session.flush()
    _record_question(session, actor, audit.Action.QUESTION_ADDED, question, after=question)
    return question


def _question_facts(question: Question) -> dict[str, Any]:
    """What the audit log keeps of a question: where it is and what it asks and scores."""
    return {
        "assessment_id": question.assessment_id,
        "position": question.position,
        "kind": question.kind,
        "prompt": question.prompt,
        "points": question.points,
        "version": question.version,
    }


def _record_question(
    session: Session,
    actor: Actor,
    action: audit.Action,
    question: Question,
    *,
    before: Question | dict[str, Any] | None = None,
    after: Question | None = None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        subject=audit.Subject.QUESTION,
        subject_id=question.id,
        before=_question_facts(before) if isinstance(before, Question) else before,
        after=_question_facts(after) if after is not None else None,
    )


def change_question(
    session: Session, *, actor: Actor, assessment_id: int, question_id: int, spec: QuestionSpec
) -> Question:
    """Replace one question's content; id and position stay.

    In a draft anything may change, in place. In a published assessment the change is a
    correction: a new version of the question (its kind and options stay, `correct_content`),
    which new attempts answer; submitted answers keep the version they were scored against until
    a regrade (repo_domain.regrade) moves them to it. Archived assessments do not change.
    """
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id, for_update=True)
    if assessment.status == AssessmentStatus.ARCHIVED:
        raise Conflict("archived assessments cannot be edited", code="archived")
    question = _question_in(session, assessment, question_id)
    before = _question_facts(question)
    validated = spec.validated()
    if assessment.status == AssessmentStatus.DRAFT:
        replace_content(session, question=question, spec=validated)
        action = audit.Action.QUESTION_UPDATED
    elif correct_content(session, question=question, spec=validated, created_by=actor.id):
        action = audit.Action.QUESTION_CORRECTED
    else:
        return question
    assessment.updated_at = utcnow()
    session.flush()
    _record_question(session, actor, action, question, before=before, after=question)
    return question


def move_question(
    session: Session, *, actor: Actor, assessment_id: int, question_id: int, position: int
) -> Question:
    """Move one question to `position` (0-based); the ones in between shift by one."""
    assessment = _draft_for_update(session, actor=actor, assessment_id=assessment_id)
    question = _question_in(session, assessment, question_id)
    count = _question_count(session, assessment.id)
    target = integer(position, field="position", minimum=0, maximum=count - 1)
    source = question.position
    if target == source:
        return question
    question.position = count  # parked one past the end: a free position
    session.flush()
    if target > source:
        shift_positions(session, assessment_id=assessment.id, first=source + 1, last=target, by=-1)
    else:
        shift_positions(session, assessment_id=assessment.id, first=target, last=source - 1, by=1)
    question.position = target
    assessment.updated_at = utcnow()
    session.flush()
    return question


def delete_question(
    session: Session, *, actor: Actor, assessment_id: int, question_id: int
) -> None:
    """Delete one question and its options; the ones after it move up by one."""
    assessment = _draft_for_update(session, actor=actor, assessment_id=assessment_id)
    question = _question_in(session, assessment, question_id)
    position = question.position
    _record_question(session, actor, audit.Action.QUESTION_DELETED, question, before=question)
    delete_rows(session, question=question)
    count = _question_count(session, assessment.id)
    shift_positions(session, assessment_id=assessment.id, first=position + 1, last=count, by=-1)
    assessment.updated_at = utcnow()
    session.flush()


def publish(session: Session, *, actor: Actor, assessment_id: int) -> Assessment:
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id, for_update=True)
    if assessment.status != AssessmentStatus.DRAFT:
        raise Conflict(f"cannot publish a {assessment.status} assessment", code="not_draft")
    count = session.scalar(
        select(func.count()).select_from(Question).where(Question.assessment_id == assessment.id)
    )
    if not count:
        raise InvalidInput("an assessment needs at least one question", code="no_questions")
    assessment.status = AssessmentStatus.PUBLISHED
    assessment.published_at = utcnow()
    session.flush()
    _record_status(
        session, actor, assessment, audit.Action.ASSESSMENT_PUBLISHED, AssessmentStatus.DRAFT
    )
    return assessment


def _record_status(
    session: Session,
    actor: Actor,
    assessment: Assessment,
    action: audit.Action,
    before: AssessmentStatus,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        subject=audit.Subject.ASSESSMENT,
        subject_id=assessment.id,
        before={"status": before},
        after={"status": assessment.status},
    )


def archive(session: Session, *, actor: Actor, assessment_id: int) -> Assessment:
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id, for_update=True)
    if assessment.status == AssessmentStatus.ARCHIVED:
        raise Conflict("assessment is already archived", code="archived")
    before = AssessmentStatus(assessment.status)
    assessment.status = AssessmentStatus.ARCHIVED
    session.flush()
    _record_status(session, actor, assessment, audit.Action.ASSESSMENT_ARCHIVED, before)
    return assessment


def _after(after: int | None) -> int | None:
    """A keyset cursor: the last id of the previous page (0 = from the start)."""
    return None if after is None else integer(after, field="after", minimum=0, maximum=MAX_ID)


def list_published(
    session: Session, *, query: str | None, after: int | None, limit: int
) -> KeysetPage[Assessment]:
    """Catalogue: uses ix_assessments_status_id, so deep pages are as cheap as the first.

    `query` (searched in title and description) is checked like any input: SEARCH_QUERY_MAX
    characters, one line, no NUL.
    """
    query = optional_text(query, field="query", max_length=SEARCH_QUERY_MAX)
    after = _after(after)
    stmt = (
        select(Assessment)
        .where(Assessment.status == AssessmentStatus.PUBLISHED)
        .order_by(Assessment.id)
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(Assessment.id > after)
    if query:
        pattern = like_pattern(query)
        stmt = stmt.where(
            or_(
                func.lower(Assessment.title).like(pattern, escape="\\"),
                func.lower(Assessment.description).like(pattern, escape="\\"),
            )
        )
    return keyset_page(session.scalars(stmt).all(), limit=limit)


def list_managed(
    session: Session,
    *,
    actor: Actor,
    status: AssessmentStatus | str | None,
    after: int | None,
    limit: int,
) -> KeysetPage[Assessment]:
    """Authors see their own assessments in every status; admins see all of them."""
    if not actor.can_author:
        raise Forbidden("only authors and admins manage assessments")
    after = _after(after)
    if status is not None:
        try:
            status = AssessmentStatus(status)
        except ValueError:
            raise InvalidInput(
                f"status must be one of {', '.join(AssessmentStatus)}",
                code="invalid_status",
                field="status",
            ) from None
    stmt = select(Assessment).order_by(Assessment.id).limit(limit + 1)
    if not actor.is_admin:
        stmt = stmt.where(Assessment.author_id == actor.id)
    if status is not None:
        stmt = stmt.where(Assessment.status == status)
    if after is not None:
        stmt = stmt.where(Assessment.id > after)
    return keyset_page(session.scalars(stmt).all(), limit=limit)


__all__ = [
    "UNSET",
    "AssessmentView",
    "OptionSpec",
    "QuestionSpec",
    "add_question",
    "archive",
    "change_question",
    "create_assessment",
    "delete_question",
    "get_managed",
    "get_visible",
    "list_managed",
    "list_published",
    "load_view",
    "move_question",
    "publish",
    "update_assessment",
]
