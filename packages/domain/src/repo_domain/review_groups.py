"""The review queue as groups: one author decision grades every flagged answer of a group, and
can be undone.

A group is the flagged AI grades (``feedback.needs_review``) of one question that share a
cluster key. The AI worker assigns the key when it flags an answer (``repo_ai.clustering``: it
already has the answers in hand and scikit-learn in its resolve; the domain must not import
``apps/ai``, and the API and web should not load a text model to draw a page). The key is the id
of the group's first response, so an answer without one (``cluster`` NULL, e.g. graded before
clustering existed) is a group of one keyed by its own response id: one key space, no special
case.

Queue order: what a decision teaches the grader most comes first. Groups are ordered by their
lowest AI confidence in tenths (``CONFIDENCE_BANDS``: within one band the grader's confidence
differences are noise), then by size, largest first, then by key. Pages are keyset pages on that
triple, carried as an opaque cursor string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, func, literal, select, tuple_, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from repo_db.models import (
    Assessment,
    Feedback,
    FeedbackSource,
    Question,
    Response,
    ReviewDecision,
    ReviewDecisionAnswer,
)
from repo_domain import grading, validation, visibility
from repo_domain.common import Actor, utcnow
from repo_domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from repo_domain.validation import REVIEW_COMMENT_MAX

#: Confidence is compared in this many bands (tenths): 0.30 and 0.38 are the same band.
CONFIDENCE_BANDS = 10
#: Sample answers shown per group.
SAMPLES = 3
_CURSOR = re.compile(r"^(\d{1,3})\.(\d{1,12})\.(\d{1,19})$")


class _Floor(FunctionElement[int]):
    """floor() of a non-negative number as an integer, the same on both databases."""

    type = Integer()
    inherit_cache = True


@compiles(_Floor)
def _floor_default(element: _Floor, compiler: SQLCompiler, **kw: object) -> str:
    return f"CAST(floor({compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(_Floor, "sqlite")
def _floor_sqlite(element: _Floor, compiler: SQLCompiler, **kw: object) -> str:
    # SQLite's floor() needs the optional math functions; CAST truncates, which is floor for >= 0.
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


def _group_key() -> ColumnElement[int]:
    return func.coalesce(Feedback.cluster, Feedback.response_id)


@dataclass(frozen=True, slots=True)
class ReviewSample:
    feedback_id: int
    response_id: int
    attempt_id: int
    answer: str
    ai_score: float | None
    confidence: float | None
    comment: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReviewGroup:
    """Flagged answers to one question that one decision grades; ``samples`` are the least
    confident few of them."""

    group_id: int
    question_id: int
    assessment_id: int
    assessment_title: str
    prompt: str
    reference_answer: str | None
    points: float
    size: int
    confidence: float
    samples: list[ReviewSample]
    cursor: str


@dataclass(frozen=True, slots=True)
class GroupPage:
    items: list[ReviewGroup]
    next_after: str | None


def _parse_cursor(after: str) -> tuple[int, int, int]:
    match = _CURSOR.match(after)
    if match is None:
        raise InvalidInput("not a review queue cursor", field="after")
    band, size, key = (int(g) for g in match.groups())
    return band, size, key


def review_groups(
    session: Session, *, actor: Actor, assessment_id: int | None, after: str | None, limit: int
) -> GroupPage:
    """The flagged answers on the actor's assessments (admins: all) as groups, the ones whose
    decision teaches the grader most first (see the module docstring)."""
    if not actor.can_author:
        raise Forbidden("only authors and admins review grades")
    key = _group_key()
    groups = (
        select(
            key.label("group_id"),
            Response.question_id,
            func.count().label("size"),
            func.min(func.coalesce(Feedback.confidence, 0.0)).label("confidence"),
        )
        .join(Response, Response.id == Feedback.response_id)
        .join(Question, Question.id == Response.question_id)
        .join(Assessment, Assessment.id == Question.assessment_id)
        .where(Feedback.needs_review.is_(True))
        .group_by(key, Response.question_id)
    )
    if not actor.is_admin:
        groups = groups.where(Assessment.author_id == actor.id)
    if assessment_id is not None:
        groups = groups.where(Assessment.id == assessment_id)
    g = groups.subquery()
    band = _Floor(g.c.confidence * CONFIDENCE_BANDS)
    stmt = (
        select(g, band.label("band"), Question, Assessment.id, Assessment.title)
        .join(Question, Question.id == g.c.question_id)
        .join(Assessment, Assessment.id == Question.assessment_id)
        .order_by(band, g.c.size.desc(), g.c.group_id)
        .limit(limit + 1)
    )
    if after is not None:
        b, size, k = _parse_cursor(after)
        stmt = stmt.where(
            tuple_(band, -g.c.size, g.c.group_id) > tuple_(literal(b), literal(-size), literal(k))
        )
    rows = session.execute(stmt).all()
    samples = _samples(session, [r.group_id for r in rows[:limit]])
    items = [
        ReviewGroup(
            group_id=r.group_id,
            question_id=r.question_id,
            assessment_id=r.id,
            assessment_title=r.title,
            prompt=r.Question.prompt,
            reference_answer=r.Question.reference_answer,
            points=r.Question.points,
            size=r.size,
            confidence=r.confidence,
            samples=samples.get(r.group_id, []),
            cursor=f"{r.band}.{r.size}.{r.group_id}",
        )
        for r in rows
    ]
    page = items[:limit]
    return GroupPage(items=page, next_after=page[-1].cursor if len(items) > limit else None)


def _samples(session: Session, group_ids: list[int]) -> dict[int, list[ReviewSample]]:
    if not group_ids:
        return {}
    key = _group_key()
    rank = func.row_number().over(
        partition_by=key, order_by=(func.coalesce(Feedback.confidence, 0.0), Feedback.id)
    )
    ranked = (
        select(
            key.label("group_id"),
            Feedback.id,
            Feedback.response_id,
            Response.attempt_id,
            Response.text_value,
            Feedback.score,
            Feedback.confidence,
            Feedback.comment,
            Feedback.created_at,
            rank.label("rank"),
        )
        .join(Response, Response.id == Feedback.response_id)
        .where(Feedback.needs_review.is_(True), key.in_(group_ids))
        .subquery()
    )
    out: dict[int, list[ReviewSample]] = {}
    for r in session.execute(
        select(ranked).where(ranked.c.rank <= SAMPLES).order_by(ranked.c.group_id, ranked.c.rank)
    ):
        out.setdefault(r.group_id, []).append(
            ReviewSample(
                feedback_id=r.id,
                response_id=r.response_id,
                attempt_id=r.attempt_id,
                answer=r.text_value or "",
                ai_score=r.score,
                confidence=r.confidence,
                comment=r.comment,
                created_at=r.created_at,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class GroupDecisionView:
    """A group decision; its ``id`` undoes it (``undo_review_group``)."""

    id: int
    group_id: int
    question_id: int
    assessment_id: int
    graded: int
    score: float
    comment: str
    created_at: datetime


def _managed_question(session: Session, actor: Actor, question_id: int) -> Question:
    question, assessment = session.execute(
        select(Question, Assessment)
        .join(Assessment, Assessment.id == Question.assessment_id)
        .where(Question.id == question_id)
    ).one()
    if not visibility.is_manager(actor, author_id=assessment.author_id):
        raise Forbidden("only the assessment's author or an admin may grade it")
    return question


def review_group(
    session: Session, *, actor: Actor, group_id: int, score: float, comment: str
) -> GroupDecisionView:
    """The author's score (points) and comment for every flagged answer of the group: each gets
    its own human grade, as ``grading.review`` gives one, and its attempt's result is refreshed.
    Answers that join the group later are not covered: they wait for their own decision."""
    members = session.execute(
        select(Feedback, Response)
        .join(Response, Response.id == Feedback.response_id)
        .where(Feedback.needs_review.is_(True), _group_key() == group_id)
        .order_by(Feedback.id)
    ).all()
    question_id = (
        members[0].Response.question_id
        if members
        # Decided already? The group's key is its first response: its question says who may ask.
        else session.scalar(select(Response.question_id).where(Response.id == group_id))
    )
    if question_id is None:
        raise NotFound("review group not found")
    question = _managed_question(session, actor, question_id)
    members = [m for m in members if m.Response.question_id == question_id]
    if not members:
        raise Conflict("nothing in this group is awaiting review", code="not_in_review")
    score = validation.number(score, field="score", minimum=0.0, maximum=question.points)
    comment = validation.text(
        comment, field="comment", max_length=REVIEW_COMMENT_MAX, multiline=True
    )
    flagged_ids = [m.Feedback.id for m in members]
    # Conditional UPDATE, as in grading.review: of two reviewers racing, one wins them all.
    won = session.execute(
        update(Feedback)
        .where(Feedback.id.in_(flagged_ids), Feedback.needs_review.is_(True))
        .values(needs_review=False)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != len(flagged_ids):  # type: ignore[attr-defined]
        raise Conflict("this group was graded meanwhile", code="not_in_review")
    decision = ReviewDecision(
        question_id=question_id,
        reviewer_id=actor.id,
        group_id=group_id,
        score=score,
        comment=comment,
        created_at=utcnow(),
    )
    session.add(decision)
    session.flush()
    for flagged, response in members:
        flagged.needs_review = False
        human = grading.record_grade(
            session,
            response=response,
            question=question,
            fraction=score / question.points if question.points else 0.0,
            comment=comment,
            source=FeedbackSource.HUMAN,
            model_version=f"reviewer:{actor.id}",
            confidence=1.0,
            reviewer_id=actor.id,
        )
        session.add(
            ReviewDecisionAnswer(
                decision_id=decision.id, flagged_feedback_id=flagged.id, graded_feedback_id=human.id
            )
        )
    for attempt_id in sorted({response.attempt_id for _, response in members}):
        grading.refresh_after_review(session, attempt_id=attempt_id)
    session.flush()
    return GroupDecisionView(
        id=decision.id,
        group_id=group_id,
        question_id=question_id,
        assessment_id=question.assessment_id,
        graded=len(members),
        score=score,
        comment=comment,
        created_at=decision.created_at,
    )


@dataclass(frozen=True, slots=True)
class UndoneView:
    decision_id: int
    group_id: int
    restored: int


def undo_review_group(session: Session, *, actor: Actor, decision_id: int) -> UndoneView:
    """Take a group decision back: its grades go, the AI grades come back to the queue and the
    results are refreshed. All or nothing: if any of those answers was graded again since, it is
    a Conflict and nothing changes."""
    decision = session.get(ReviewDecision, decision_id)
    if decision is None:
        raise NotFound("review decision not found")
    question = _managed_question(session, actor, decision.question_id)
    if decision.undone_at is not None:
        raise Conflict("this decision was undone already", code="already_undone")
    rows = session.execute(
        select(ReviewDecisionAnswer, Response)
        .join(Feedback, Feedback.id == ReviewDecisionAnswer.flagged_feedback_id)
        .join(Response, Response.id == Feedback.response_id)
        .where(ReviewDecisionAnswer.decision_id == decision.id)
        .with_for_update(of=Response)  # PostgreSQL: no grade lands between check and undo
    ).all()
    latest = {
        row.response_id: row.latest
        for row in session.execute(
            select(Feedback.response_id, func.max(Feedback.id).label("latest"))
            .where(Feedback.response_id.in_([r.Response.id for r in rows]))
            .group_by(Feedback.response_id)
        )
    }
    for link, response in rows:
        graded = session.get(Feedback, link.graded_feedback_id) if link.graded_feedback_id else None
        if graded is None or latest.get(response.id) != graded.id or response.score != graded.score:
            raise Conflict(
                "an answer of this group was graded again since the decision; nothing was undone",
                code="changed_since",
            )
    won = session.execute(
        update(ReviewDecision)
        .where(ReviewDecision.id == decision.id, ReviewDecision.undone_at.is_(None))
        .values(undone_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this decision was undone already", code="already_undone")
    for link, response in rows:
        flagged = session.get(Feedback, link.flagged_feedback_id)
        graded = session.get(Feedback, link.graded_feedback_id)
        assert (
            flagged is not None and graded is not None
        )  # checked above, rows locked by the UPDATE
        session.delete(graded)
        flagged.needs_review = True
        grading.set_response_grade(
            response,
            score=flagged.score,
            fraction=(flagged.score or 0.0) / question.points if question.points else 0.0,
        )
    session.flush()
    for attempt_id in sorted({response.attempt_id for _, response in rows}):
        grading.refresh_after_review(session, attempt_id=attempt_id)
    session.expire(decision)
    return UndoneView(decision_id=decision.id, group_id=decision.group_id, restored=len(rows))


__all__ = [
    "CONFIDENCE_BANDS",
    "SAMPLES",
    "GroupDecisionView",
    "GroupPage",
    "ReviewGroup",
    "ReviewSample",
    "UndoneView",
    "review_group",
    "review_groups",
    "undo_review_group",
]
