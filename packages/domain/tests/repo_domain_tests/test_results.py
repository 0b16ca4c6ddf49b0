"""One result computation: submit and refresh_result give the same result (objective, free text,
adaptive), and the rules of repo_domain.results hold."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from repo_db import unit_of_work
from repo_db.models import (
    Attempt,
    AttemptStatus,
    FeedbackSource,
    GradingStatus,
    Question,
    QuestionKind,
    Response,
    Result,
    Role,
)
from repo_domain import grading
from repo_domain.attempts import Answer
from repo_domain.common import Actor
from repo_domain.results import UNANSWERED
from repo_domain_tests.factories import Quiz, make_actor, make_quiz, take_attempt, wiped

OBJECTIVE = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE, QuestionKind.NUMERIC)


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


def _snapshot(engine: Engine, attempt_id: int) -> dict[str, Any]:
    with unit_of_work(read_only=True, bind=engine) as session:
        result = session.scalars(select(Result).where(Result.attempt_id == attempt_id)).one()
        responses = session.execute(
            select(
                Response.question_id, Response.score, Response.is_correct, Response.grading_status
            )
            .where(Response.attempt_id == attempt_id)
            .order_by(Response.question_id)
        ).all()
        return {
            "score": result.score,
            "max_score": result.max_score,
            "percent": result.percent,
            "passed": result.passed,
            "details": result.details,
            "responses": [tuple(r) for r in responses],
        }


def _submit_then_refresh(
    engine: Engine, learner: Actor, quiz: Quiz, answers: dict[int, Answer]
) -> tuple[dict[str, Any], dict[str, Any]]:
    attempt_id = take_attempt(engine, learner, quiz, answers)
    submitted = _snapshot(engine, attempt_id)
    with unit_of_work(bind=engine) as session:
        grading.refresh_result(session, attempt_id=attempt_id)
    return submitted, _snapshot(engine, attempt_id)


def test_objective_attempt_submit_equals_refresh(engine: Engine) -> None:
    author, learner = make_actor(engine, Role.AUTHOR), make_actor(engine)
    quiz = make_quiz(engine, author, kinds=OBJECTIVE)
    single, multi, numeric = quiz.question_ids
    # One right, one wrong, one unanswered.
    answers = {single: quiz.right[single], multi: quiz.wrong[multi]}
    submitted, refreshed = _submit_then_refresh(engine, learner, quiz, answers)
    assert submitted == refreshed
    assert (submitted["score"], submitted["max_score"], submitted["passed"]) == (2.0, 6.0, False)
    statuses = [q["grading_status"] for q in submitted["details"]["questions"]]
    assert statuses == [GradingStatus.NOT_REQUIRED, GradingStatus.NOT_REQUIRED, UNANSWERED]
    assert submitted["details"]["questions"][2]["score"] == 0.0


def test_free_text_attempt_submit_equals_refresh_and_grades_count(engine: Engine) -> None:
    author, learner = make_actor(engine, Role.AUTHOR), make_actor(engine)
    quiz = make_quiz(engine, author)
    answers = {q: quiz.right[q] for q in quiz.question_ids}
    submitted, refreshed = _submit_then_refresh(engine, learner, quiz, answers)
    assert submitted == refreshed
    assert submitted["passed"] is None and submitted["details"]["pending"] == 1
    assert (submitted["score"], submitted["max_score"]) == (6.0, 10.0)

    free = quiz.question_ids[3]
    with unit_of_work(bind=engine) as session:
        response = session.scalars(select(Response).where(Response.question_id == free)).one()
        question = session.get(Question, free)
        assert question is not None
        grading.record_grade(
            session,
            response=response,
            question=question,
            fraction=0.5,
            comment="Partly right.",
            source=FeedbackSource.AI,
            model_version="test",
        )
        result = grading.refresh_result(session, attempt_id=response.attempt_id)
        attempt = session.get(Attempt, response.attempt_id)
        assert attempt is not None and attempt.status == AttemptStatus.GRADED
        assert (result.score, result.percent, result.passed) == (8.0, 80.0, True)
        attempt_id = response.attempt_id
    graded = _snapshot(engine, attempt_id)
    with unit_of_work(bind=engine) as session:
        grading.refresh_result(session, attempt_id=attempt_id)
    assert _snapshot(engine, attempt_id) == graded


def test_blank_free_text_is_graded_zero_at_once(engine: Engine) -> None:
    author, learner = make_actor(engine, Role.AUTHOR), make_actor(engine)
    quiz = make_quiz(engine, author, kinds=(QuestionKind.FREE_TEXT,))
    [free] = quiz.question_ids
    submitted, refreshed = _submit_then_refresh(
        engine, learner, quiz, {free: Answer(text_value="   ")}
    )
    assert submitted == refreshed
    assert submitted["passed"] is False and submitted["details"]["pending"] == 0
    assert submitted["responses"] == [(free, 0.0, False, GradingStatus.GRADED)]


def test_adaptive_attempt_counts_only_served_questions_on_submit_and_refresh(
    engine: Engine,
) -> None:
    author, learner = make_actor(engine, Role.AUTHOR), make_actor(engine)
    kinds = (QuestionKind.SINGLE_CHOICE,) * 5
    quiz = make_quiz(
        engine,
        author,
        adaptive=True,
        target_se=0.85,
        kinds=kinds,
        difficulties=[-2.0, -1.0, 0.1, 1.0, 2.0],
    )
    served = quiz.question_ids[2]  # the most informative at theta 0; then the rule stops
    submitted, refreshed = _submit_then_refresh(engine, learner, quiz, {served: quiz.right[served]})
    assert submitted == refreshed
    assert (submitted["score"], submitted["max_score"], submitted["passed"]) == (2.0, 2.0, True)
    assert [q["question_id"] for q in submitted["details"]["questions"]] == [served]
