"""Building test data through the platform's own rules (repo_domain), committed for real."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine

from repo_db import unit_of_work
from repo_db.models import AnswerOption, Assessment, ItemParameter, Question, Role, User
from repo_db.testing import truncate_all
from repo_domain import attempts
from repo_domain.attempts import Answer
from repo_domain.common import Actor

_n = itertools.count(1)

REFERENCE = "An index avoids a full table scan by searching a sorted B-tree."
KEYWORDS = ["full table scan|every row|all rows", "b-tree|btree|sorted|tree"]
GOOD = "With a sorted B-tree index the database avoids a full table scan over every row."
BAD = "It makes the emails unique."


@contextmanager
def wiped(engine: Engine) -> Iterator[Engine]:
    """Real commits on the test database; every row is deleted afterwards."""
    try:
        yield engine
    finally:
        truncate_all(engine)


def make_user(engine: Engine, role: str = "learner") -> Actor:
    with unit_of_work(bind=engine) as session:
        n = next(_n)
        user = User(email=f"{role}{n}@ai.test", password_hash="x", display_name=f"U{n}", role=role)
        session.add(user)
        session.flush()
        return Actor(id=user.id, role=Role(role))


@dataclass(frozen=True)
class Quiz:
    assessment_id: int
    choice_id: int
    correct_option_id: int
    wrong_option_id: int
    free_id: int


def make_quiz(engine: Engine, author: Actor, *, adaptive: bool = False) -> Quiz:
    """A published assessment: one single-choice and one free-text question (2 points)."""
    with unit_of_work(bind=engine) as session:
        assessment = Assessment(
            author_id=author.id, title=f"Quiz {next(_n)}", status="published", adaptive=adaptive
        )
        session.add(assessment)
        session.flush()
        choice = Question(
            assessment_id=assessment.id, position=1, kind="single_choice", prompt="Pick B"
        )
        free = Question(
            assessment_id=assessment.id,
            position=2,
            kind="free_text",
            prompt="Why does an index speed up a lookup by email?",
            points=2.0,
            reference_answer=REFERENCE,
            rubric_keywords=KEYWORDS,
        )
        session.add_all([choice, free])
        session.flush()
        right = AnswerOption(question_id=choice.id, position=1, text="B", is_correct=True)
        wrong = AnswerOption(question_id=choice.id, position=2, text="A", is_correct=False)
        session.add_all([right, wrong])
        session.flush()
        return Quiz(assessment.id, choice.id, right.id, wrong.id, free.id)


def submit_attempt(engine: Engine, learner: Actor, quiz: Quiz, *, text: str, right: bool) -> int:
    with unit_of_work(bind=engine) as session:
        attempt, _ = attempts.start_attempt(
            session, actor=learner, assessment_id=quiz.assessment_id
        )
        option = quiz.correct_option_id if right else quiz.wrong_option_id
        attempts.save_response(
            session,
            actor=learner,
            attempt_id=attempt.id,
            question_id=quiz.choice_id,
            answer=Answer(selected_option_ids=[option]),
        )
        attempts.save_response(
            session,
            actor=learner,
            attempt_id=attempt.id,
            question_id=quiz.free_id,
            answer=Answer(text_value=text),
        )
        attempt_id = attempt.id
    with unit_of_work(bind=engine) as session:
        attempts.submit(session, actor=learner, attempt_id=attempt_id)
    return attempt_id


def calibrated_bank(
    engine: Engine, *, questions: int, discrimination: float, title: str, **settings: object
) -> tuple[int, dict[int, int]]:
    """A published adaptive assessment of ``questions`` calibrated yes/no questions, difficulties
    spread evenly over [-2, 2], no exposure fit stored: (id, question id -> right option).
    ``settings`` are the assessment's adaptive columns (``adaptive_max_length=...``)."""
    author = make_user(engine, "author")
    with unit_of_work(bind=engine) as session:
        assessment = Assessment(
            author_id=author.id, title=title, status="published", adaptive=True, **settings
        )
        session.add(assessment)
        session.flush()
        right = {}
        for i in range(questions):
            q = Question(
                assessment_id=assessment.id, position=i, kind="single_choice", prompt=f"Q{i}"
            )
            session.add(q)
            session.flush()
            ok = AnswerOption(question_id=q.id, position=1, text="yes", is_correct=True)
            session.add_all([ok, AnswerOption(question_id=q.id, position=2, text="no")])
            difficulty = -2.0 + 4.0 * i / (questions - 1)
            session.add(
                ItemParameter(
                    question_id=q.id, difficulty=difficulty, discrimination=discrimination
                )
            )
            session.flush()
            right[q.id] = ok.id
        return assessment.id, right
