"""Migration 0014 on a database with data: every question becomes version 1, answers point at it,
and the downgrade gives the 0013 schema back with the data intact."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, inspect

from repo_db import migrate
from repo_db.testing import DIALECTS, temporary_database

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=DIALECTS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with temporary_database(request.param, tmp_path) as engine:
        yield engine


def _table(conn: sa.Connection, name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=conn)


def _seed_at_0013(engine: Engine) -> dict[str, int]:
    """An author, a published assessment with a choice and a numeric question, one answer each."""
    with engine.begin() as conn:
        users, assessments, questions, options, attempts, responses = (
            _table(conn, n)
            for n in (
                "users",
                "assessments",
                "questions",
                "answer_options",
                "attempts",
                "responses",
            )
        )
        user = conn.execute(
            users.insert().returning(users.c.id),
            {
                "email": "a@example.com",
                "password_hash": "x",
                "display_name": "A",
                "role": "author",
                "created_at": NOW,
                "updated_at": NOW,
            },
        ).scalar_one()
        assessment = conn.execute(
            assessments.insert().returning(assessments.c.id),
            {
                "author_id": user,
                "title": "T",
                "status": "published",
                "created_at": NOW,
                "updated_at": NOW,
            },
        ).scalar_one()
        choice = conn.execute(
            questions.insert().returning(questions.c.id),
            {
                "assessment_id": assessment,
                "position": 0,
                "kind": "single_choice",
                "prompt": "Pick",
                "points": 2.0,
            },
        ).scalar_one()
        numeric = conn.execute(
            questions.insert().returning(questions.c.id),
            {
                "assessment_id": assessment,
                "position": 1,
                "kind": "numeric",
                "prompt": "2+2",
                "points": 1.0,
                "numeric_answer": 4.0,
                "numeric_tolerance": 0.5,
            },
        ).scalar_one()
        option_ids = [
            conn.execute(
                options.insert().returning(options.c.id),
                {"question_id": choice, "position": p, "text": t, "is_correct": p == 1},
            ).scalar_one()
            for p, t in enumerate(["no", "yes"])
        ]
        attempt = conn.execute(
            attempts.insert().returning(attempts.c.id),
            {
                "assessment_id": assessment,
                "user_id": user,
                "status": "graded",
                "started_at": NOW,
            },
        ).scalar_one()
        for question, values in (
            (choice, {"selected_option_ids": [option_ids[1]]}),
            (numeric, {"numeric_value": 4.0}),
        ):
            conn.execute(
                responses.insert(),
                {
                    "attempt_id": attempt,
                    "question_id": question,
                    "grading_status": "not_required",
                    "updated_at": NOW,
                    **values,
                },
            )
    return {"choice": choice, "numeric": numeric, "no": option_ids[0], "yes": option_ids[1]}


def test_upgrade_snapshots_every_question_and_links_answers(engine: Engine) -> None:
    migrate.upgrade(engine, "0013")
    ids = _seed_at_0013(engine)
    migrate.upgrade(engine, "0014")
    with engine.connect() as conn:
        versions = _table(conn, "question_versions")
        rows = {r.question_id: r for r in conn.execute(sa.select(versions))}
        assert set(rows) == {ids["choice"], ids["numeric"]}
        assert {r.version for r in rows.values()} == {1}
        assert {r.created_by_id for r in rows.values()} == {None}
        assert rows[ids["choice"]].content == {
            "kind": "single_choice",
            "prompt": "Pick",
            "points": 2.0,
            "numeric_answer": None,
            "numeric_tolerance": None,
            "reference_answer": None,
            "rubric_keywords": None,
            "options": [
                {"id": ids["no"], "text": "no", "is_correct": False},
                {"id": ids["yes"], "text": "yes", "is_correct": True},
            ],
        }
        numeric = rows[ids["numeric"]].content
        assert (numeric["numeric_answer"], numeric["numeric_tolerance"]) == (4.0, 0.5)
        assert numeric["options"] == []
        assert conn.execute(sa.text("SELECT version FROM questions")).scalars().all() == [1, 1]
        assert conn.execute(sa.text("SELECT question_version FROM responses")).scalars().all() == [
            1,
            1,
        ]
        assert conn.execute(sa.text("SELECT count(*) FROM results")).scalar_one() == 0


def test_downgrade_gives_0013_back_with_the_data(engine: Engine) -> None:
    migrate.upgrade(engine, "0013")
    ids = _seed_at_0013(engine)
    migrate.upgrade(engine, "0014")
    migrate.downgrade(engine, "0013")
    insp = inspect(engine)
    assert "question_versions" not in insp.get_table_names()
    assert "version" not in {c["name"] for c in insp.get_columns("questions")}
    assert "question_version" not in {c["name"] for c in insp.get_columns("responses")}
    assert "regraded_at" not in {c["name"] for c in insp.get_columns("results")}
    with engine.connect() as conn:
        assert sorted(conn.execute(sa.text("SELECT id FROM questions")).scalars()) == sorted(
            [ids["choice"], ids["numeric"]]
        )
        assert conn.execute(sa.text("SELECT count(*) FROM responses")).scalar_one() == 2
    migrate.upgrade(engine)  # and up again
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM question_versions")).scalar_one() == 2
