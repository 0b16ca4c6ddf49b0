"""Rows for the attempt tests, written straight through repo_db's models (no authoring rules, so
these tests do not depend on how assessments are edited)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from repo_db import unit_of_work
from repo_db.models import (
    AnswerOption,
    Assessment,
    AssessmentStatus,
    ItemParameter,
    Question,
    QuestionKind,
    Role,
    ShowAnswers,
    User,
)
from repo_db.testing import truncate_all
from repo_domain import attempts
from repo_domain.attempts import Answer
from repo_domain.common import Actor

_counter = itertools.count(1)


def make_actor(engine: Engine, role: Role = Role.LEARNER) -> Actor:
    n = next(_counter)
    with unit_of_work(bind=engine) as session:
        user = User(
            email=f"{role}{n}@factories.test", password_hash="x", display_name=f"U{n}", role=role
        )
        session.add(user)
        session.flush()
        return Actor(id=user.id, role=role)


@dataclass
class Quiz:
    """An assessment with one question of each kind, and the right and wrong answer to each."""

    id: int
    question_ids: list[int]
    right: dict[int, Answer] = field(default_factory=dict)
    wrong: dict[int, Answer] = field(default_factory=dict)


def make_quiz(
    engine: Engine,
    author: Actor,
    *,
    show_answers: ShowAnswers = ShowAnswers.AFTER_LAST_ATTEMPT,
    max_attempts: int | None = None,
    closes_at: datetime | None = None,
    adaptive: bool = False,
    target_se: float | None = None,
    kinds: tuple[QuestionKind, ...] = tuple(QuestionKind),
    difficulties: list[float] | None = None,
) -> Quiz:
    """Published. Points 2 / 3 / 1 / 4 by kind order; free text is right with "calls itself"."""
    points = {
        QuestionKind.SINGLE_CHOICE: 2.0,
        QuestionKind.MULTIPLE_CHOICE: 3.0,
        QuestionKind.NUMERIC: 1.0,
        QuestionKind.FREE_TEXT: 4.0,
    }
    with unit_of_work(bind=engine) as session:
        assessment = Assessment(
            author_id=author.id,
            title="Quiz",
            status=AssessmentStatus.PUBLISHED,
            pass_percent=50,
            show_answers=show_answers,
            max_attempts=max_attempts,
            closes_at=closes_at,
            adaptive=adaptive,
            adaptive_target_se=target_se,
        )
        session.add(assessment)
        session.flush()
        quiz = Quiz(id=assessment.id, question_ids=[])
        for position, kind in enumerate(kinds):
            extra: dict[str, Any] = {}
            if kind == QuestionKind.NUMERIC:
                extra = {"numeric_answer": 42.0, "numeric_tolerance": 0.5}
            elif kind == QuestionKind.FREE_TEXT:
                extra = {
                    "reference_answer": "A function that calls itself.",
                    "rubric_keywords": ["calls itself"],
                }
            question = Question(
                assessment_id=assessment.id,
                position=position,
                kind=kind,
                prompt=f"Q{position}",
                points=points[kind],
                **extra,
            )
            session.add(question)
            session.flush()
            quiz.question_ids.append(question.id)
            if difficulties is not None:
                session.add(
                    ItemParameter(
                        question_id=question.id,
                        difficulty=difficulties[position],
                        discrimination=2.0,
                    )
                )
            if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
                flags = [False, True, kind == QuestionKind.MULTIPLE_CHOICE]
                options = [
                    AnswerOption(question_id=question.id, position=i, text=f"o{i}", is_correct=ok)
                    for i, ok in enumerate(flags)
                ]
                session.add_all(options)
                session.flush()
                right = [o.id for o in options if o.is_correct]
                quiz.right[question.id] = Answer(selected_option_ids=right)
                quiz.wrong[question.id] = Answer(selected_option_ids=[options[0].id])
            elif kind == QuestionKind.NUMERIC:
                quiz.right[question.id] = Answer(numeric_value=42.2)
                quiz.wrong[question.id] = Answer(numeric_value=7.0)
            else:
                quiz.right[question.id] = Answer(text_value="It calls itself.")
                quiz.wrong[question.id] = Answer(text_value="No idea, sorry.")
        session.flush()
        return quiz


@contextmanager
def wiped(engine: Engine) -> Iterator[Engine]:
    try:
        yield engine
    finally:
        truncate_all(engine)


def take_attempt(engine: Engine, learner: Actor, quiz: Quiz, answers: dict[int, Answer]) -> int:
    """Start, answer (question id -> answer) and submit an attempt, each step committed through
    repo_domain.attempts as the adapters do; returns the attempt id."""
    with unit_of_work(bind=engine) as session:
        attempt_id = attempts.start_attempt(session, actor=learner, assessment_id=quiz.id)[0].id
        for question_id, answer in answers.items():
            attempts.save_response(
                session,
                actor=learner,
                attempt_id=attempt_id,
                question_id=question_id,
                answer=answer,
            )
    with unit_of_work(bind=engine) as session:
        attempts.submit(session, actor=learner, attempt_id=attempt_id)
    return attempt_id
