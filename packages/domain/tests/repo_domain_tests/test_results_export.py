"""The results CSV: one row per attempt, a column per question, formula cells defused, UTF-8
with BOM, streamed in chunks; on both databases."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine

from repo_db import unit_of_work
from repo_db.models import (
    Assessment,
    AssessmentStatus,
    Attempt,
    AttemptStatus,
    Question,
    QuestionKind,
    Response,
    Result,
    Role,
    User,
)
from repo_domain import results_export
from repo_domain.common import Actor
from repo_domain.errors import Forbidden
from repo_domain_tests.factories import make_actor, wiped


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


def _seed(engine: Engine, *, learners: list[str]) -> int:
    """Two questions (2 and 4 points); learner i's attempt: graded when i is even, else in
    progress; every graded attempt answers Q1 only (Q2 unanswered)."""
    author = make_actor(engine, Role.AUTHOR)
    with unit_of_work(bind=engine) as session:
        assessment = Assessment(author_id=author.id, title="CSV", status=AssessmentStatus.PUBLISHED)
        session.add(assessment)
        session.flush()
        q1 = Question(
            assessment_id=assessment.id,
            position=0,
            kind=QuestionKind.NUMERIC,
            prompt="=1+1",
            points=2,
        )
        q2 = Question(
            assessment_id=assessment.id,
            position=1,
            kind=QuestionKind.FREE_TEXT,
            prompt="Explain",
            points=4,
        )
        session.add_all([q1, q2])
        session.flush()
        for i, name in enumerate(learners):
            user = User(email=f"l{i}@csv.test", password_hash="x", display_name=name)
            session.add(user)
            session.flush()
            graded = i % 2 == 0
            attempt = Attempt(
                assessment_id=assessment.id,
                user_id=user.id,
                status=AttemptStatus.GRADED if graded else AttemptStatus.IN_PROGRESS,
                started_at=datetime(2026, 12, 1, 9, 30, 5),
                submitted_at=datetime(2026, 12, 1, 9, 45) if graded else None,
            )
            session.add(attempt)
            session.flush()
            session.add(
                Response(attempt_id=attempt.id, question_id=q1.id, numeric_value=2, score=2.0)
            )
            if graded:
                session.add(
                    Result(
                        attempt_id=attempt.id,
                        user_id=user.id,
                        assessment_id=assessment.id,
                        score=2.0,
                        max_score=6.0,
                        percent=100 * 2 / 6,
                        passed=False,
                    )
                )
        return assessment.id


def _export(engine: Engine, assessment_id: int) -> tuple[bytes, list[bytes]]:
    author_id = _author_of(engine, assessment_id)
    with unit_of_work(read_only=True, bind=engine) as session:
        export = results_export.results_export(
            session, actor=Actor(id=author_id, role=Role.AUTHOR), assessment_id=assessment_id
        )
    chunks = list(export.chunks(bind=engine))  # after the unit has ended, as an HTTP stream
    return b"".join(chunks), chunks


def _author_of(engine: Engine, assessment_id: int) -> int:
    with unit_of_work(read_only=True, bind=engine) as session:
        assessment = session.get(Assessment, assessment_id)
        assert assessment is not None
        return assessment.author_id


def test_one_row_per_attempt_and_a_column_per_question(engine: Engine) -> None:
    # Fails if a column moves, an attempt is dropped or repeated (the join has one row per
    # response), or an unanswered question of a submitted attempt is left blank instead of 0.
    assessment_id = _seed(engine, learners=["Zoë", "Ann"])
    body, _ = _export(engine, assessment_id)
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    assert b"\r\n" in body
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == [*results_export.FIXED_COLUMNS, "Q1 (2 pts)", "Q2 (4 pts)"]
    assert len(rows) == 3
    graded, in_progress = rows[1], rows[2]
    assert graded[1:] == [
        "Zoë",
        "l0@csv.test",
        "graded",
        "2026-12-01 09:30:05",
        "2026-12-01 09:45:00",
        "2",
        "6",
        "33.3333",
        "2",
        "0",
    ]
    assert in_progress[1:] == ["Ann", "l1@csv.test", "in_progress", "2026-12-01 09:30:05"] + [
        ""
    ] * 4 + ["2", ""]


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_defused(name: str) -> None:
    # Fails if a display name a spreadsheet would run as a formula reaches the file unchanged.
    assert results_export.safe_cell(name) == "'" + name
    assert results_export.safe_cell("Ann =1") == "Ann =1"
    assert results_export.safe_cell(None) == ""


def test_learner_names_are_defused_in_the_file(engine: Engine) -> None:
    assessment_id = _seed(engine, learners=["=cmd|' /C calc'!A0"])
    body, _ = _export(engine, assessment_id)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1][1] == "'=cmd|' /C calc'!A0"


def test_streamed_in_chunks(engine: Engine) -> None:
    # 1,201 attempts = 3 chunks of 500 rows (the header rides in the first): fails if the
    # export is built in one piece.
    assessment_id = _seed(engine, learners=[f"L{i}" for i in range(1_201)])
    body, chunks = _export(engine, assessment_id)
    assert len(chunks) == 3
    assert body.count(b"\r\n") == 1_202


def test_only_the_author_or_an_admin(engine: Engine) -> None:
    assessment_id = _seed(engine, learners=["Ann"])
    stranger = make_actor(engine, Role.AUTHOR)
    with unit_of_work(read_only=True, bind=engine) as session, pytest.raises(Forbidden):
        results_export.results_export(session, actor=stranger, assessment_id=assessment_id)
