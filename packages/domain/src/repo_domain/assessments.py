"""Authoring (create/edit/publish/archive), visibility rules and the published catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from repo_db.models import AnswerOption, Assessment, Question
from repo_db.models import ShowAnswers
from repo_domain.common import Actor, KeysetPage, keyset_page, like_pattern, utcnow
from repo_domain.errors import Conflict, Forbidden, NotFound, InvalidInput


@dataclass(frozen=True, slots=True)
class OptionSpec:
    text: str
    is_correct: bool = False


@dataclass(frozen=True, slots=True)
class QuestionSpec:
    """Validated question input (schemas check kind/option consistency before we get here)."""

    kind: str
    prompt: str
    points: float = 1.0
    numeric_answer: float | None = None
    numeric_tolerance: float | None = None
    reference_answer: str | None = None
    rubric_keywords: Sequence[str] | None = None  # free text: key ideas for AI grading
    options: Sequence[OptionSpec] = field(default_factory=tuple)


@dataclass(slots=True)
class AssessmentView:
    """An assessment with its questions and options in position order (loaded in 3 queries)."""

    assessment: Assessment
    questions: list[Question]
    options: dict[int, list[AnswerOption]]


def _policy(
    *, max_attempts: int | None, show_answers: str | None, closes_at: datetime | None
) -> dict[str, Any]:
    """The attempt policy, checked here because the columns carry no CHECK constraint."""
    if max_attempts is not None and max_attempts < 1:
        raise InvalidInput("max_attempts must be at least 1", code="invalid_policy")
    if show_answers is not None and show_answers not in set(ShowAnswers):
        raise InvalidInput(
            f"show_answers must be one of {', '.join(ShowAnswers)}", code="invalid_policy"
        )
    if show_answers == ShowAnswers.AFTER_CLOSE and closes_at is None:
        raise InvalidInput("show_answers=after_close needs closes_at", code="invalid_policy")
    return {"max_attempts": max_attempts, "show_answers": show_answers, "closes_at": closes_at}


def _can_manage(actor: Actor, assessment: Assessment) -> bool:
    return actor.is_admin or (actor.role == "author" and assessment.author_id == actor.id)


def _get(session: Session, assessment_id: int, *, for_update: bool = False) -> Assessment:
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
    if assessment.status != "published" and not _can_manage(actor, assessment):
        raise NotFound("assessment not found")
    return assessment


def get_managed(
    session: Session, *, actor: Actor, assessment_id: int, for_update: bool = False
) -> Assessment:
    """The owning author or an admin; others get 403 (or 404 if they cannot even see it)."""
    assessment = _get(session, assessment_id, for_update=for_update)
    if not _can_manage(actor, assessment):
        if assessment.status != "published":
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


def _add_questions(session: Session, *, assessment_id: int, specs: Sequence[QuestionSpec]) -> None:
    for position, spec in enumerate(specs):
        question = Question(
            assessment_id=assessment_id,
            position=position,
            kind=spec.kind,
            prompt=spec.prompt,
            points=spec.points,
            numeric_answer=spec.numeric_answer,
            numeric_tolerance=spec.numeric_tolerance,
            reference_answer=spec.reference_answer,
            rubric_keywords=list(spec.rubric_keywords) if spec.rubric_keywords else None,
        )
        session.add(question)
        session.flush()
        session.add_all(
            AnswerOption(question_id=question.id, position=i, text=o.text, is_correct=o.is_correct)
            for i, o in enumerate(spec.options)
        )
    session.flush()


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
    show_answers: str = "after_last_attempt",
    closes_at: datetime | None = None,
    adaptive: bool = False,
    adaptive_target_se: float | None = None,
) -> Assessment:
    if not actor.can_author:
        raise Forbidden("only authors and admins may create assessments")
    assessment = Assessment(
        author_id=actor.id,
        title=title,
        description=description,
        time_limit_seconds=time_limit_seconds,
        pass_percent=pass_percent,
        adaptive=adaptive,
        adaptive_target_se=adaptive_target_se,
        status="draft",
        **_policy(max_attempts=max_attempts, show_answers=show_answers, closes_at=closes_at),
    )
    session.add(assessment)
    session.flush()
    _add_questions(session, assessment_id=assessment.id, specs=questions)
    return assessment


def update_assessment(
    session: Session,
    *,
    actor: Actor,
    assessment_id: int,
    title: str | None = None,
    description: str | None = None,
    time_limit_seconds: int | None = None,
    pass_percent: float | None = None,
    questions: Sequence[QuestionSpec] | None = None,
    max_attempts: int | None = None,
    show_answers: str | None = None,
    closes_at: datetime | None = None,
) -> Assessment:
    """Scoring-relevant fields are frozen once published, so past results stay comparable.

    The attempt policy (max_attempts, show_answers, closes_at) may change until archived.
    """
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id, for_update=True)
    if assessment.status == "archived":
        raise Conflict("archived assessments cannot be edited", code="archived")
    scoring_change = (
        time_limit_seconds is not None or pass_percent is not None or questions is not None
    )
    if scoring_change and assessment.status != "draft":
        raise Conflict(
            "questions, pass mark and time limit can only change in draft", code="not_draft"
        )
    if title is not None:
        assessment.title = title
    if description is not None:
        assessment.description = description
    if time_limit_seconds is not None:
        assessment.time_limit_seconds = time_limit_seconds
    if pass_percent is not None:
        assessment.pass_percent = pass_percent
    for name, value in _policy(
        max_attempts=max_attempts,
        show_answers=show_answers,
        closes_at=closes_at or assessment.closes_at,
    ).items():
        if value is not None:
            setattr(assessment, name, value)
    if questions is not None:
        # Explicit option delete: do not rely on SQLite having foreign-key cascades switched on.
        question_ids = select(Question.id).where(Question.assessment_id == assessment.id)
        session.execute(delete(AnswerOption).where(AnswerOption.question_id.in_(question_ids)))
        session.execute(delete(Question).where(Question.assessment_id == assessment.id))
        session.flush()
        _add_questions(session, assessment_id=assessment.id, specs=questions)
    assessment.updated_at = utcnow()
    session.flush()
    return assessment


def publish(session: Session, *, actor: Actor, assessment_id: int) -> Assessment:
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id, for_update=True)
    if assessment.status != "draft":
        raise Conflict(f"cannot publish a {assessment.status} assessment", code="not_draft")
    count = session.scalar(
        select(func.count()).select_from(Question).where(Question.assessment_id == assessment.id)
    )
    if not count:
        raise InvalidInput("an assessment needs at least one question", code="no_questions")
    assessment.status = "published"
    assessment.published_at = utcnow()
    session.flush()
    return assessment


def archive(session: Session, *, actor: Actor, assessment_id: int) -> Assessment:
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id, for_update=True)
    if assessment.status == "archived":
        raise Conflict("assessment is already archived", code="archived")
    assessment.status = "archived"
    session.flush()
    return assessment


def list_published(
    session: Session, *, query: str | None, after: int | None, limit: int
) -> KeysetPage[Assessment]:
    """Catalogue: uses ix_assessments_status_id, so deep pages are as cheap as the first."""
    stmt = (
        select(Assessment)
        .where(Assessment.status == "published")
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
    session: Session, *, actor: Actor, status: str | None, after: int | None, limit: int
) -> KeysetPage[Assessment]:
    """Authors see their own assessments in every status; admins see all of them."""
    if not actor.can_author:
        raise Forbidden("only authors and admins manage assessments")
    stmt = select(Assessment).order_by(Assessment.id).limit(limit + 1)
    if not actor.is_admin:
        stmt = stmt.where(Assessment.author_id == actor.id)
    if status is not None:
        stmt = stmt.where(Assessment.status == status)
    if after is not None:
        stmt = stmt.where(Assessment.id > after)
    return keyset_page(session.scalars(stmt).all(), limit=limit)
