"""The adaptive limits on real attempts (both databases): the served question repeats for an
attempt, differs across attempts under exposure control, and the test stops at the maximum
length."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from repo_ai.work import refit_exposure
from repo_ai_tests.helpers import calibrated_bank, make_user, wiped
from repo_db import unit_of_work
from repo_domain import attempts
from repo_domain.adaptive import Reason
from repo_domain.attempts import Answer

N_QUESTIONS = 40  # 0.3 x 40 = 12 >= EXPOSURE_MIN_POOL: exposure control applies
MAX_LENGTH = 4


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


def _bank(engine: Engine) -> tuple[int, dict[int, int]]:
    assessment_id, right = calibrated_bank(
        engine,
        questions=N_QUESTIONS,
        discrimination=1.2,
        title="Bank",
        adaptive_target_se=0.05,  # never reached: the maximum length stops the test
        adaptive_max_length=MAX_LENGTH,
    )
    # Served with the fitted Sympson-Hetter K_i, as after the AI worker's fit.
    assert refit_exposure(engine, assessment_id=assessment_id).fitted
    return assessment_id, right


def test_exposure_control_and_the_maximum_length_on_real_attempts(engine: Engine) -> None:
    assessment_id, right = _bank(engine)
    firsts = []
    for _learner in range(8):
        learner = make_user(engine)
        with unit_of_work(bind=engine) as session:
            attempt_id = attempts.start_attempt(
                session, actor=learner, assessment_id=assessment_id
            )[0].id
        served: list[int] = []
        while True:
            with unit_of_work(bind=engine, read_only=True) as session:
                state = attempts.next_question(session, actor=learner, attempt_id=attempt_id)
                again = attempts.next_question(session, actor=learner, attempt_id=attempt_id)
            assert again.question_id == state.question_id  # a reload serves the same question
            if state.question_id is None:
                break
            served.append(state.question_id)
            with unit_of_work(bind=engine) as session:
                attempts.save_response(
                    session,
                    actor=learner,
                    attempt_id=attempt_id,
                    question_id=state.question_id,
                    answer=Answer(selected_option_ids=[right[state.question_id]]),
                )
        assert state.reason == Reason.MAX_LENGTH_REACHED and state.n_answered == MAX_LENGTH
        assert len(served) == len(set(served)) == MAX_LENGTH
        firsts.append(served[0])
    # Without exposure control all eight would start with the same question.
    assert len(set(firsts)) > 1
