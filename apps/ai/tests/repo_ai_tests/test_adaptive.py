"""repo_domain.adaptive on the database: maximum information at the current estimate, the
standard-error stopping rule; next-question serves adaptive assessments only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from repo_ai_tests.helpers import make_user, wiped
from repo_db import unit_of_work
from repo_db.models import (
    AnswerOption,
    Assessment,
    Attempt,
    AttemptStatus,
    ItemParameter,
    Question,
    Result,
)
from repo_domain import attempts
from repo_domain.adaptive import Reason
from repo_domain.attempts import Answer
from repo_domain.common import Actor
from repo_domain.errors import Conflict, Forbidden

# (difficulty, discrimination) per position; position 3 is the most informative at theta = 0.
ITEMS = [(-2.0, 1.0), (-1.0, 1.2), (0.1, 2.0), (1.0, 1.2), (2.0, 1.0), (0.0, 0.4)]


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


def _bank(
    engine: Engine, *, adaptive_flag: bool, target_se: float | None = None
) -> tuple[Actor, int, list[int], dict[int, int]]:
    author, learner = make_user(engine, "author"), make_user(engine)
    with unit_of_work(bind=engine) as session:
        assessment = Assessment(
            author_id=author.id,
            title="Bank",
            status="published",
            adaptive=adaptive_flag,
            adaptive_target_se=target_se,
        )
        session.add(assessment)
        session.flush()
        qids, right = [], {}
        for position, (b, a) in enumerate(ITEMS, start=1):
            q = Question(
                assessment_id=assessment.id,
                position=position,
                kind="single_choice",
                prompt=f"Q{position}",
            )
            session.add(q)
            session.flush()
            ok = AnswerOption(question_id=q.id, position=1, text="yes", is_correct=True)
            session.add_all([ok, AnswerOption(question_id=q.id, position=2, text="no")])
            session.add(ItemParameter(question_id=q.id, difficulty=b, discrimination=a))
            session.flush()
            qids.append(q.id)
            right[q.id] = ok.id
        attempt = Attempt(assessment_id=assessment.id, user_id=learner.id)
        session.add(attempt)
        session.flush()
        return learner, attempt.id, qids, right


def _answer(engine: Engine, learner: Actor, attempt_id: int, qid: int, option: int) -> None:
    with unit_of_work(bind=engine) as session:
        attempts.save_response(
            session,
            actor=learner,
            attempt_id=attempt_id,
            question_id=qid,
            answer=Answer(selected_option_ids=[option]),
        )


def test_adaptive_serves_the_most_informative_question_and_follows_the_answers(
    engine: Engine,
) -> None:
    learner, attempt_id, qids, right = _bank(engine, adaptive_flag=True, target_se=0.1)
    with unit_of_work(bind=engine, read_only=True) as session:
        first = attempts.next_question(session, actor=learner, attempt_id=attempt_id)
    assert first.question_id == qids[2] and first.n_answered == 0
    _answer(engine, learner, attempt_id, qids[2], right[qids[2]])  # right: ability goes up
    with unit_of_work(bind=engine, read_only=True) as session:
        second = attempts.next_question(session, actor=learner, attempt_id=attempt_id)
    assert second.n_answered == 1
    assert second.question_id == qids[3]  # the harder, informative item
    stranger = make_user(engine)
    with unit_of_work(bind=engine, read_only=True) as session, pytest.raises(Forbidden):
        attempts.next_question(session, actor=stranger, attempt_id=attempt_id)


def test_adaptive_stops_at_the_target_standard_error(engine: Engine) -> None:
    learner, attempt_id, qids, right = _bank(engine, adaptive_flag=True, target_se=0.85)
    _answer(engine, learner, attempt_id, qids[2], right[qids[2]])
    with unit_of_work(bind=engine, read_only=True) as session:
        state = attempts.next_question(session, actor=learner, attempt_id=attempt_id)
    assert state.done and state.question_id is None
    assert state.reason == Reason.TARGET_SE_REACHED and state.n_answered == 1


def test_ordinary_assessments_have_no_next_question(engine: Engine) -> None:
    learner, attempt_id, qids, right = _bank(engine, adaptive_flag=False)
    with unit_of_work(bind=engine, read_only=True) as session, pytest.raises(Conflict) as refused:
        attempts.next_question(session, actor=learner, attempt_id=attempt_id)
    assert refused.value.code == "not_adaptive"


def test_adaptive_result_counts_only_the_questions_served(engine: Engine) -> None:
    learner, attempt_id, qids, right = _bank(engine, adaptive_flag=True, target_se=0.85)
    _answer(engine, learner, attempt_id, qids[2], right[qids[2]])
    with unit_of_work(bind=engine) as session:
        attempt, _view = attempts.submit(session, actor=learner, attempt_id=attempt_id)
        assert attempt.status == AttemptStatus.GRADED
        result = session.scalars(select(Result).where(Result.attempt_id == attempt_id)).one()
    assert (result.score, result.max_score, result.passed) == (1.0, 1.0, True)
