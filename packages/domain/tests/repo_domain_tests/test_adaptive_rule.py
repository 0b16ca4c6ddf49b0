"""The adaptive rule in save_response (only the served question, answered once) and the
next-question read model (adaptive assessments only, no ability estimate)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from repo_db import unit_of_work
from repo_db.models import QuestionKind, Response, Role
from repo_domain import attempts
from repo_domain.adaptive import Reason
from repo_domain.attempts import ADAPTIVE_ANSWER_FINAL, ADAPTIVE_NOT_SERVED, Answer
from repo_domain.common import Actor
from repo_domain.errors import Conflict
from repo_domain_tests.factories import Quiz, make_actor, make_quiz, wiped

# At theta 0 the most informative item is the third (b=0.1).
DIFFICULTIES = [-2.0, -1.0, 0.1, 1.0, 2.0]
CHOICES = (QuestionKind.SINGLE_CHOICE,) * len(DIFFICULTIES)


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


def _start(engine: Engine, learner: Actor, quiz: Quiz) -> int:
    with unit_of_work(bind=engine) as session:
        return attempts.start_attempt(session, actor=learner, assessment_id=quiz.id)[0].id


def _save(
    engine: Engine, learner: Actor, attempt_id: int, question_id: int, answer: Answer
) -> bool:
    with unit_of_work(bind=engine) as session:
        return attempts.save_response(
            session, actor=learner, attempt_id=attempt_id, question_id=question_id, answer=answer
        )[1]


def _next(engine: Engine, learner: Actor, attempt_id: int) -> attempts.NextQuestion:
    with unit_of_work(read_only=True, bind=engine) as session:
        return attempts.next_question(session, actor=learner, attempt_id=attempt_id)


def _responses(engine: Engine, attempt_id: int) -> int:
    with unit_of_work(read_only=True, bind=engine) as session:
        count = session.scalar(
            select(func.count()).select_from(Response).where(Response.attempt_id == attempt_id)
        )
        return int(count or 0)


def test_only_the_served_question_is_accepted_and_only_once(engine: Engine) -> None:
    author, learner = make_actor(engine, Role.AUTHOR), make_actor(engine)
    quiz = make_quiz(
        engine, author, adaptive=True, target_se=0.1, kinds=CHOICES, difficulties=DIFFICULTIES
    )
    attempt_id = _start(engine, learner, quiz)
    served = _next(engine, learner, attempt_id)
    assert served.question_id == quiz.question_ids[2] and served.reason == Reason.NEXT
    assert served.question is not None and served.question.position == 2
    assert [o.text for o in served.question.options] == ["o0", "o1", "o2"]

    unserved = quiz.question_ids[0]
    with pytest.raises(Conflict) as refused:
        _save(engine, learner, attempt_id, unserved, quiz.right[unserved])
    assert refused.value.code == ADAPTIVE_NOT_SERVED
    assert _responses(engine, attempt_id) == 0

    first = quiz.question_ids[2]
    assert _save(engine, learner, attempt_id, first, quiz.wrong[first])
    assert not _save(engine, learner, attempt_id, first, quiz.wrong[first])  # idempotent retry
    with pytest.raises(Conflict) as changed:
        _save(engine, learner, attempt_id, first, quiz.right[first])
    assert changed.value.code == ADAPTIVE_ANSWER_FINAL
    # The wrong answer moved the test to an easier question, and that one is accepted.
    after = _next(engine, learner, attempt_id)
    assert after.question_id in quiz.question_ids[:2] and after.n_answered == 1
    assert after.question_id is not None
    assert _save(engine, learner, attempt_id, after.question_id, quiz.right[after.question_id])


def test_next_question_carries_no_ability_and_stops_by_the_rule(engine: Engine) -> None:
    author, learner = make_actor(engine, Role.AUTHOR), make_actor(engine)
    quiz = make_quiz(
        engine, author, adaptive=True, target_se=0.85, kinds=CHOICES, difficulties=DIFFICULTIES
    )
    attempt_id = _start(engine, learner, quiz)
    state = _next(engine, learner, attempt_id)
    names = {f.name for f in dataclasses.fields(state)}
    assert not names & {"theta", "standard_error", "n_scored"}
    assert state.question_id is not None
    _save(engine, learner, attempt_id, state.question_id, quiz.right[state.question_id])
    done = _next(engine, learner, attempt_id)
    assert done.done and done.question is None and done.reason == Reason.TARGET_SE_REACHED
    # Done: nothing more is accepted.
    other = quiz.question_ids[0]
    with pytest.raises(Conflict) as refused:
        _save(engine, learner, attempt_id, other, quiz.right[other])
    assert refused.value.code == ADAPTIVE_NOT_SERVED
    with unit_of_work(bind=engine) as session:
        attempts.submit(session, actor=learner, attempt_id=attempt_id)
    assert _next(engine, learner, attempt_id).reason == Reason.SUBMITTED


def test_non_adaptive_assessments_take_answers_in_any_order(engine: Engine) -> None:
    author, learner = make_actor(engine, Role.AUTHOR), make_actor(engine)
    quiz = make_quiz(engine, author)
    attempt_id = _start(engine, learner, quiz)
    with pytest.raises(Conflict) as refused:
        _next(engine, learner, attempt_id)
    assert refused.value.code == "not_adaptive"
    last, first = quiz.question_ids[-1], quiz.question_ids[0]
    assert _save(engine, learner, attempt_id, last, quiz.right[last])
    assert _save(engine, learner, attempt_id, first, quiz.wrong[first])
    assert _save(engine, learner, attempt_id, first, quiz.right[first])  # changed: fine here
