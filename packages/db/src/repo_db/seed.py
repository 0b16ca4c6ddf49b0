"""Deterministic demo data: three accounts and published assessments of every question kind.

Idempotent: rows are looked up by natural keys (email, assessment title) before insertion, so
running it twice (or from two app start-ups) does not duplicate anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from repo_db._context import unit_of_work
from repo_db._crud import create, find_by
from repo_db.models import AssessmentStatus, QuestionKind, Role
from repo_db.security import hash_password

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo credential
DEMO_USERS: tuple[tuple[str, str, Role], ...] = (
    ("admin@example.com", "Ada Admin", Role.ADMIN),
    ("author@example.com", "Arthur Author", Role.AUTHOR),
    ("learner@example.com", "Lena Learner", Role.LEARNER),
)
DEMO_AUTHOR = "author@example.com"
PUBLISHED_AT = datetime(2026, 1, 1, tzinfo=UTC)

Option = tuple[str, bool]
QuestionSpec = dict[str, Any]

DEMO_ASSESSMENTS: tuple[dict[str, Any], ...] = (
    {
        "title": "Python Basics",
        "description": "Syntax, types and the standard library.",
        "time_limit_seconds": 900,
        "questions": [
            {
                "kind": QuestionKind.SINGLE_CHOICE,
                "prompt": "Which keyword defines a function?",
                "options": [("def", True), ("func", False), ("lambda", False), ("fn", False)],
            },
            {
                "kind": QuestionKind.MULTIPLE_CHOICE,
                "prompt": "Which of these are immutable?",
                "options": [("tuple", True), ("str", True), ("list", False), ("dict", False)],
            },
            {"kind": QuestionKind.NUMERIC, "prompt": "What is 7 * 6?", "numeric_answer": 42.0},
            {
                "kind": QuestionKind.FREE_TEXT,
                "prompt": "Explain what a generator is.",
                "reference_answer": "A function that yields values lazily, one at a time.",
                "rubric_keywords": ["yield", "lazy|lazily|on demand|one at a time", "function"],
                "points": 2.0,
            },
        ],
    },
    {
        "title": "SQL Fundamentals",
        "description": "Queries, joins and indexes.",
        "time_limit_seconds": 1200,
        "questions": [
            {
                "kind": QuestionKind.SINGLE_CHOICE,
                "prompt": "Which clause filters groups?",
                "options": [("HAVING", True), ("WHERE", False), ("ORDER BY", False)],
            },
            {
                "kind": QuestionKind.MULTIPLE_CHOICE,
                "prompt": "Which are join types?",
                "options": [("INNER", True), ("LEFT", True), ("SIDEWAYS", False)],
            },
            {
                "kind": QuestionKind.NUMERIC,
                "prompt": "How many rows does SELECT 1 UNION ALL SELECT 1 return?",
                "numeric_answer": 2.0,
            },
            {
                "kind": QuestionKind.FREE_TEXT,
                "prompt": "Why does an index speed up a lookup by email?",
                "reference_answer": "It avoids a full table scan by using a sorted B-tree.",
                "rubric_keywords": ["full table scan|every row|all rows", "b-tree|btree|sorted"],
                "points": 2.0,
            },
        ],
    },
    {
        "title": "Statistics Primer",
        "description": "Means, variance and probability.",
        "time_limit_seconds": None,
        "questions": [
            {
                "kind": QuestionKind.SINGLE_CHOICE,
                "prompt": "The median of 1, 2, 100 is?",
                "options": [("2", True), ("34.3", False), ("100", False)],
            },
            {
                "kind": QuestionKind.MULTIPLE_CHOICE,
                "prompt": "Which measure spread?",
                "options": [("variance", True), ("standard deviation", True), ("mode", False)],
            },
            {
                "kind": QuestionKind.NUMERIC,
                "prompt": "Probability of heads with a fair coin (0-1)?",
                "numeric_answer": 0.5,
                "numeric_tolerance": 0.01,
            },
            {
                "kind": QuestionKind.FREE_TEXT,
                "prompt": "What does a p-value measure?",
                "reference_answer": "How surprising the data are if the null hypothesis holds.",
                "rubric_keywords": ["null hypothesis|null", "probability|chance|surprising"],
            },
        ],
    },
)


@dataclass(frozen=True)
class SeedSummary:
    users_created: int
    assessments_created: int
    questions_created: int


def seed_demo(engine: Engine | Connection | None = None) -> SeedSummary:
    """Insert the demo accounts and assessments that are missing (one transaction)."""
    users = assessments = questions = 0
    password_hash = hash_password(DEMO_PASSWORD)  # Argon2 is deliberately slow: hash once
    with unit_of_work(bind=engine) as session:
        conn = session.connection()
        for email, name, role in DEMO_USERS:
            if find_by("users", "email", email, engine=conn) is None:
                create(
                    "users",
                    {
                        "email": email,
                        "display_name": name,
                        "role": role.value,
                        "password_hash": password_hash,
                    },
                    engine=conn,
                )
                users += 1
        author = find_by("users", "email", DEMO_AUTHOR, engine=conn)
        assert author is not None
        for spec in DEMO_ASSESSMENTS:
            if find_by("assessments", "title", spec["title"], engine=conn) is not None:
                continue
            assessment = create(
                "assessments",
                {
                    "author_id": author["id"],
                    "title": spec["title"],
                    "description": spec["description"],
                    "status": AssessmentStatus.PUBLISHED.value,
                    "time_limit_seconds": spec["time_limit_seconds"],
                    "published_at": PUBLISHED_AT,
                },
                engine=conn,
            )
            assessments += 1
            for position, question in enumerate(spec["questions"], start=1):
                _create_question(conn, assessment["id"], position, question)
                questions += 1
    return SeedSummary(users, assessments, questions)


def _create_question(conn: Connection, assessment_id: int, position: int, q: QuestionSpec) -> None:
    row = create(
        "questions",
        {
            "assessment_id": assessment_id,
            "position": position,
            "kind": QuestionKind(q["kind"]).value,
            "prompt": q["prompt"],
            "points": q.get("points", 1.0),
            "numeric_answer": q.get("numeric_answer"),
            "numeric_tolerance": q.get("numeric_tolerance", 0.0 if "numeric_answer" in q else None),
            "reference_answer": q.get("reference_answer"),
            "rubric_keywords": q.get("rubric_keywords"),
        },
        engine=conn,
    )
    options: list[Option] = q.get("options", [])
    for option_position, (text, is_correct) in enumerate(options, start=1):
        create(
            "answer_options",
            {
                "question_id": row["id"],
                "position": option_position,
                "text": text,
                "is_correct": is_correct,
            },
            engine=conn,
        )


__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "SeedSummary", "seed_demo"]
