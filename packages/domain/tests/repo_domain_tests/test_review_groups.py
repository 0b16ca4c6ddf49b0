"""Review groups on both databases: the queue groups flagged answers by (question, cluster),
least confident and largest first, in keyset pages; one decision grades a group and can be undone
unless an answer was graded again since. The cluster keys are written here as the AI worker
writes them (repo_ai.clustering): the id of the group's first response."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select, update

from repo_db import unit_of_work
from repo_db.models import (
    Feedback,
    FeedbackSource,
    Job,
    JobStatus,
    Question,
    QuestionKind,
    Response,
    Result,
    Role,
)
from repo_domain import attempts, grading, review_groups
from repo_domain.attempts import Answer
from repo_domain.common import Actor
from repo_domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from repo_domain_tests.factories import Quiz, make_actor, make_quiz, wiped


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


@dataclass
class Flagged:
    attempt_id: int
    response_id: int
    feedback_id: int


def _flag(
    engine: Engine,
    quiz: Quiz,
    *,
    text: str,
    confidence: float,
    cluster: int | None = None,
    first_of_cluster: bool = False,
) -> Flagged:
    """A new learner answers the quiz's free-text question; the AI gives 1 of 4 points and flags
    it (as apps/ai's worker does), in the given cluster or as the first of a new one."""
    learner = make_actor(engine)
    [question_id] = quiz.question_ids
    with unit_of_work(bind=engine) as session:
        attempt, _ = attempts.start_attempt(session, actor=learner, assessment_id=quiz.id)
        attempts.save_response(
            session,
            actor=learner,
            attempt_id=attempt.id,
            question_id=question_id,
            answer=Answer(text_value=text),
        )
        attempts.submit(session, actor=learner, attempt_id=attempt.id)
        response = session.scalars(select(Response).where(Response.attempt_id == attempt.id)).one()
        question = session.get(Question, question_id)
        assert question is not None
        feedback = grading.record_grade(
            session,
            response=response,
            question=question,
            fraction=0.25,
            comment="Say more.",
            source=FeedbackSource.AI,
            model_version="test",
            confidence=confidence,
            needs_review=True,
        )
        feedback.cluster = response.id if first_of_cluster else cluster
        grading.refresh_result(session, attempt_id=attempt.id)
        return Flagged(attempt.id, response.id, feedback.id)


def _quiz(engine: Engine, author: Actor) -> Quiz:
    return make_quiz(engine, author, kinds=(QuestionKind.FREE_TEXT,))


def _percents(engine: Engine, flagged: list[Flagged]) -> list[float]:
    with unit_of_work(read_only=True, bind=engine) as session:
        return [
            session.scalars(select(Result.percent).where(Result.attempt_id == f.attempt_id)).one()
            for f in flagged
        ]


def _queue(
    engine: Engine,
    actor: Actor,
    *,
    assessment_id: int | None = None,
    after: str | None = None,
    limit: int = 10,
) -> review_groups.GroupPage:
    with unit_of_work(read_only=True, bind=engine) as session:
        return review_groups.review_groups(
            session, actor=actor, assessment_id=assessment_id, after=after, limit=limit
        )


def test_queue_groups_least_confident_then_largest_first_in_keyset_pages(engine: Engine) -> None:
    author, other = make_actor(engine, Role.AUTHOR), make_actor(engine, Role.AUTHOR)
    admin, learner = make_actor(engine, Role.ADMIN), make_actor(engine)
    quiz = _quiz(engine, author)
    a1 = _flag(engine, quiz, text="It calls itself", confidence=0.36, first_of_cluster=True)
    a2 = _flag(engine, quiz, text="it calls itself.", confidence=0.31, cluster=a1.response_id)
    a3 = _flag(engine, quiz, text="It calls itself!", confidence=0.39, cluster=a1.response_id)
    b1 = _flag(engine, quiz, text="A loop", confidence=0.34, first_of_cluster=True)
    b2 = _flag(engine, quiz, text="a loop", confidence=0.33, cluster=b1.response_id)
    lone = _flag(engine, quiz, text="No idea", confidence=0.12)  # no cluster: a group of one
    last = _flag(engine, quiz, text="Recursion", confidence=0.30, first_of_cluster=True)

    full = _queue(engine, author)
    # Band 0.1 first; then band 0.3 by size (3, 2, 1), ties by key.
    assert [(g.group_id, g.size) for g in full.items] == [
        (lone.response_id, 1),
        (a1.response_id, 3),
        (b1.response_id, 2),
        (last.response_id, 1),
    ]
    assert full.next_after is None
    first = full.items[1]
    assert first.assessment_title == "Quiz" and first.points == 4.0
    assert first.confidence == pytest.approx(0.31)
    # Samples: the least confident answers of the group first.
    assert [s.feedback_id for s in first.samples] == [
        a2.feedback_id,
        a1.feedback_id,
        a3.feedback_id,
    ]
    assert [s.feedback_id for s in full.items[2].samples] == [b2.feedback_id, b1.feedback_id]

    page1 = _queue(engine, author, limit=2)
    assert [g.group_id for g in page1.items] == [lone.response_id, a1.response_id]
    assert page1.next_after is not None
    page2 = _queue(engine, author, limit=2, after=page1.next_after)
    assert [g.group_id for g in page2.items] == [b1.response_id, last.response_id]
    assert page2.next_after is None
    with pytest.raises(InvalidInput):
        _queue(engine, author, after="1; DROP TABLE")

    assert _queue(engine, other).items == []
    assert len(_queue(engine, admin).items) == 4
    assert _queue(engine, author, assessment_id=quiz.id + 1000).items == []
    with pytest.raises(Forbidden):
        _queue(engine, learner)


def test_one_decision_grades_the_group_and_undo_restores_it(engine: Engine) -> None:
    author, other = make_actor(engine, Role.AUTHOR), make_actor(engine, Role.AUTHOR)
    learner = make_actor(engine)
    quiz = _quiz(engine, author)
    a1 = _flag(engine, quiz, text="It calls itself", confidence=0.3, first_of_cluster=True)
    group = [a1] + [
        _flag(engine, quiz, text=t, confidence=0.3, cluster=a1.response_id)
        for t in ("it calls itself.", "It calls itself!")
    ]
    solo = _flag(engine, quiz, text="A loop", confidence=0.2)
    assert _percents(engine, group) == [25.0, 25.0, 25.0]
    with unit_of_work(bind=engine) as session:  # the worker has estimated every ability already
        session.execute(update(Job).values(status=JobStatus.DONE))

    def decide(actor: Actor, group_id: int, score: float) -> review_groups.GroupDecisionView:
        with unit_of_work(bind=engine) as session:
            return review_groups.review_group(
                session, actor=actor, group_id=group_id, score=score, comment="Right."
            )

    def undo(actor: Actor, decision_id: int) -> review_groups.UndoneView:
        with unit_of_work(bind=engine) as session:
            return review_groups.undo_review_group(session, actor=actor, decision_id=decision_id)

    for actor in (other, learner):
        with pytest.raises(Forbidden):
            decide(actor, a1.response_id, 4)
    with pytest.raises(InvalidInput):
        decide(author, a1.response_id, 4.5)
    with pytest.raises(NotFound):
        decide(author, 10**9, 4)
    assert _percents(engine, group) == [25.0, 25.0, 25.0]  # nothing happened

    decision = decide(author, a1.response_id, 4)
    assert (decision.graded, decision.group_id, decision.score) == (3, a1.response_id, 4.0)
    assert _percents(engine, group) == [100.0, 100.0, 100.0]
    assert _percents(engine, [solo]) == [25.0]
    with unit_of_work(read_only=True, bind=engine) as session:
        rows = session.execute(
            select(Feedback.response_id, Feedback.source, Feedback.score, Feedback.needs_review)
            .where(Feedback.response_id.in_([f.response_id for f in group]))
            .order_by(Feedback.id)
        ).all()
        queued = set(
            session.scalars(
                select(Job.subject_id).where(
                    Job.kind == grading.ESTIMATE_ABILITY, Job.status == JobStatus.QUEUED
                )
            )
        )
    # Each answer keeps its AI grade (no longer flagged) and gets its own human grade.
    assert sorted(rows) == sorted(
        [(f.response_id, "ai", 1.0, False) for f in group]
        + [(f.response_id, "human", 4.0, False) for f in group]
    )
    assert queued == {f.attempt_id for f in group}
    assert [g.group_id for g in _queue(engine, author).items] == [solo.response_id]
    with pytest.raises(Conflict) as again:
        decide(author, a1.response_id, 2)
    assert again.value.code == "not_in_review"
    with pytest.raises(Forbidden):  # a decided group still says who may ask
        decide(other, a1.response_id, 2)

    for actor in (other, learner):
        with pytest.raises(Forbidden):
            undo(actor, decision.id)
    with pytest.raises(NotFound):
        undo(author, 10**9)
    done = undo(author, decision.id)
    assert (done.restored, done.group_id) == (3, a1.response_id)
    assert _percents(engine, group) == [25.0, 25.0, 25.0]
    back = _queue(engine, author).items
    assert [(g.group_id, g.size) for g in back] == [(solo.response_id, 1), (a1.response_id, 3)]
    with unit_of_work(read_only=True, bind=engine) as session:
        sources = session.scalars(
            select(Feedback.source).where(Feedback.response_id.in_([f.response_id for f in group]))
        ).all()
    assert sorted(sources) == ["ai", "ai", "ai"]
    with pytest.raises(Conflict) as twice:
        undo(author, decision.id)
    assert twice.value.code == "already_undone"

    # Decided again after the undo: a new decision, undone on its own.
    again_decision = decide(author, a1.response_id, 3)
    assert again_decision.id != decision.id and _percents(engine, group) == [75.0] * 3


def test_undo_refuses_when_an_answer_was_graded_again(engine: Engine) -> None:
    author, admin = make_actor(engine, Role.AUTHOR), make_actor(engine, Role.ADMIN)
    quiz = _quiz(engine, author)
    a1 = _flag(engine, quiz, text="It calls itself", confidence=0.3, first_of_cluster=True)
    a2 = _flag(engine, quiz, text="it calls itself", confidence=0.3, cluster=a1.response_id)
    with unit_of_work(bind=engine) as session:
        decision = review_groups.review_group(
            session, actor=admin, group_id=a1.response_id, score=4, comment=""
        )
    with unit_of_work(bind=engine) as session:  # a later grade on one of the answers
        response = session.get(Response, a2.response_id)
        question = session.get(Question, quiz.question_ids[0])
        assert response is not None and question is not None
        grading.record_grade(
            session,
            response=response,
            question=question,
            fraction=0.5,
            comment="Regraded.",
            source=FeedbackSource.HUMAN,
            model_version="test",
        )
        grading.refresh_result(session, attempt_id=a2.attempt_id)
    with pytest.raises(Conflict) as refused, unit_of_work(bind=engine) as session:
        review_groups.undo_review_group(session, actor=author, decision_id=decision.id)
    assert refused.value.code == "changed_since"
    # All or nothing: the untouched answer keeps the decision too.
    assert _percents(engine, [a1, a2]) == [100.0, 50.0]
    assert _queue(engine, author).items == []
