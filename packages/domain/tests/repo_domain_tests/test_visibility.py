"""The answer-visibility policy: each show_answers value, retakes left or used, open or closed,
an attempt in progress, managers versus learners; and the views it shapes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from repo_db import unit_of_work
from repo_db.models import Assessment, FeedbackSource, Question, Role, ShowAnswers
from repo_domain import attempts, grading, visibility
from repo_domain.common import Actor
from repo_domain.visibility import AnswerPolicy, AttemptCounts, decide
from repo_domain_tests.factories import Quiz, make_actor, make_quiz, wiped

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
AUTHOR = Actor(id=1, role=Role.AUTHOR)
OTHER_AUTHOR = Actor(id=2, role=Role.AUTHOR)
ADMIN = Actor(id=3, role=Role.ADMIN)
LEARNER = Actor(id=4, role=Role.LEARNER)


def policy(
    show: ShowAnswers, *, max_attempts: int | None = None, closes_at: datetime | None = None
) -> AnswerPolicy:
    return AnswerPolicy(10, AUTHOR.id, show, max_attempts, closes_at)


def done(finished: int, in_progress: int = 0) -> AttemptCounts:
    return AttemptCounts(finished=finished, in_progress=in_progress)


@pytest.mark.parametrize("show", list(ShowAnswers))
def test_managers_always_see_everything(show: ShowAnswers) -> None:
    p = policy(show, max_attempts=3, closes_at=NOW + timedelta(days=1))
    for manager in (AUTHOR, ADMIN):
        assert decide(manager, p, None, now=NOW)
        assert decide(manager, p, done(0, 1), now=NOW)
    # Another author is a learner here.
    assert not decide(OTHER_AUTHOR, p, done(0), now=NOW)


def test_never_means_never() -> None:
    p = policy(ShowAnswers.NEVER, max_attempts=1, closes_at=NOW - timedelta(days=1))
    for counts in (None, done(0), done(1), done(5)):
        assert not decide(LEARNER, p, counts, now=NOW)


def test_after_last_attempt() -> None:
    p = policy(ShowAnswers.AFTER_LAST_ATTEMPT, max_attempts=2)
    assert not decide(LEARNER, p, done(1), now=NOW)  # a retake remains
    assert not decide(LEARNER, p, done(1, 1), now=NOW)  # the last one is in progress
    assert decide(LEARNER, p, done(2), now=NOW)
    unlimited = policy(ShowAnswers.AFTER_LAST_ATTEMPT, max_attempts=None)
    assert not decide(LEARNER, unlimited, None, now=NOW)
    assert not decide(LEARNER, unlimited, done(100), now=NOW)


def test_after_close() -> None:
    closes = NOW + timedelta(hours=1)
    p = policy(ShowAnswers.AFTER_CLOSE, closes_at=closes)
    assert not decide(LEARNER, p, done(1), now=NOW)  # still open
    assert decide(LEARNER, p, done(1), now=closes)
    # An attempt started before the close date and still in progress: the key stays hidden.
    assert not decide(LEARNER, p, done(1, 1), now=closes)
    assert not decide(LEARNER, policy(ShowAnswers.AFTER_CLOSE), done(1), now=NOW)


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


def _attempt(engine: Engine, learner: Actor, quiz: Quiz, *, submit: bool = True) -> int:
    with unit_of_work(bind=engine) as session:
        attempt, _ = attempts.start_attempt(session, actor=learner, assessment_id=quiz.id)
        for qid in quiz.question_ids:
            attempts.save_response(
                session,
                actor=learner,
                attempt_id=attempt.id,
                question_id=qid,
                answer=quiz.right[qid],
            )
        attempt_id = attempt.id
    if submit:
        with unit_of_work(bind=engine) as session:
            attempts.submit(session, actor=learner, attempt_id=attempt_id)
    return attempt_id


def _visible(engine: Engine, actor: Actor, quiz: Quiz, user_id: int) -> bool:
    with unit_of_work(read_only=True, bind=engine) as session:
        assessment = session.get(Assessment, quiz.id)
        assert assessment is not None
        return visibility.answers_visible(
            session, actor=actor, assessment=assessment, user_id=user_id
        )


def test_counts_come_from_the_database(engine: Engine) -> None:
    author, learner, admin = (
        make_actor(engine, Role.AUTHOR),
        make_actor(engine),
        make_actor(engine, Role.ADMIN),
    )
    quiz = make_quiz(engine, author, max_attempts=2)
    first = _attempt(engine, learner, quiz)
    assert not _visible(engine, learner, quiz, learner.id)
    _attempt(engine, learner, quiz, submit=False)
    assert not _visible(engine, learner, quiz, learner.id)  # the last attempt is running
    assert _visible(engine, admin, quiz, learner.id) and _visible(engine, author, quiz, learner.id)
    with unit_of_work(read_only=True, bind=engine) as session:
        hidden = attempts.get_result(session, actor=learner, attempt_id=first)
        shown = attempts.get_result(session, actor=admin, attempt_id=first)
    assert (hidden.score, hidden.percent, hidden.passed) == (None, None, None)
    assert all(q["is_correct"] is None and q["score"] is None for q in hidden.questions)
    assert hidden.details["answers_hidden"] is True and hidden.max_score == shown.max_score
    assert shown.score == 6.0 and shown.questions[0]["is_correct"] is True

    with unit_of_work(read_only=True, bind=engine) as session:
        last = attempts.history(session, actor=learner, user_id=None, after=None, limit=10)
    assert last.items[0].id == first
    assert all(i.score is None and i.percent is None for i in last.items)


def test_every_learner_read_model_hides_correctness(engine: Engine) -> None:
    """show_answers=never: attempt detail, saved answer, submit, result, history and feedback."""
    author, learner = make_actor(engine, Role.AUTHOR), make_actor(engine)
    quiz = make_quiz(engine, author, show_answers=ShowAnswers.NEVER, max_attempts=1)
    with unit_of_work(bind=engine) as session:
        attempt, _ = attempts.start_attempt(session, actor=learner, assessment_id=quiz.id)
        saved = [
            attempts.save_response(
                session, actor=learner, attempt_id=attempt.id, question_id=q, answer=quiz.right[q]
            )[0]
            for q in quiz.question_ids
        ]
        attempt_id = attempt.id
    assert all(s.is_correct is None and s.score is None for s in saved)
    with unit_of_work(bind=engine) as session:
        _, submitted = attempts.submit(session, actor=learner, attempt_id=attempt_id)
    assert not submitted.answers_visible and submitted.score is None and not submitted.final
    with unit_of_work(bind=engine) as session:  # the AI grades the free text
        response = next(
            r
            for r in attempts.get_attempt(session, actor=learner, attempt_id=attempt_id)[1]
            if r.text_value
        )
        question = session.get(Question, response.question_id)
        assert question is not None
        grading.record_grade(
            session,
            response=response,
            question=question,
            fraction=1.0,
            comment="Full marks. Covers 1 of 1 key ideas.",
            source=FeedbackSource.AI,
            model_version="test",
        )
        grading.refresh_result(session, attempt_id=attempt_id)
    with unit_of_work(read_only=True, bind=engine) as session:
        detail = attempts.attempt_detail(session, actor=learner, attempt_id=attempt_id)
        result = attempts.get_result(session, actor=learner, attempt_id=attempt_id)
        feedback = grading.feedback_for_attempt(session, actor=learner, attempt_id=attempt_id)
        for_author = grading.feedback_for_attempt(session, actor=author, attempt_id=attempt_id)
    assert not detail.answers_visible
    assert all(r.is_correct is None and r.score is None for r in detail.responses)
    assert result.final and result.score is None and result.passed is None
    assert feedback == []
    assert [f.comment for f in for_author] == ["Full marks. Covers 1 of 1 key ideas."]
