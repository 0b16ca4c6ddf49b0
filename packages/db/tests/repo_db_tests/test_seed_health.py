"""Demo seed and health check on both dialects."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, create_engine

from repo_db import check_health, count, find_by, find_many
from repo_db.security import hash_password, verify_password
from repo_db.seed import DEMO_PASSWORD, seed_demo


def test_seed_demo_is_complete_and_idempotent(db_connection: Connection) -> None:
    first = seed_demo(db_connection)
    assert first.users_created == 3
    second = seed_demo(db_connection)
    assert (second.users_created, second.assessments_created) == (0, 0)
    assert count("users", engine=db_connection) == 3
    for email, role in [
        ("admin@example.com", "admin"),
        ("author@example.com", "author"),
        ("learner@example.com", "learner"),
    ]:
        user = find_by("users", "email", email, engine=db_connection)
        assert user is not None and user["role"] == role
        assert verify_password(user["password_hash"], DEMO_PASSWORD)
    published = find_many("assessments", {"status": "published"}, engine=db_connection)
    assert len(published) >= 2
    for assessment in published:
        questions = find_many(
            "questions", {"assessment_id": assessment["id"]}, engine=db_connection
        )
        assert {q["kind"] for q in questions} == {
            "single_choice",
            "multiple_choice",
            "numeric",
            "free_text",
        }
        choice_ids = [q["id"] for q in questions if q["kind"].endswith("_choice")]
        assert count("answer_options", {"question_id": choice_ids}, engine=db_connection) >= 6


def test_password_hashing() -> None:
    hashed = hash_password("pw")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "pw")
    assert not verify_password(hashed, "wrong")
    assert not verify_password("not-a-hash", "pw")


def test_health_ok_on_migrated_database(db_engine: Engine) -> None:
    report = check_health(db_engine)
    assert report.status == "ok", report.error
    assert report.migrations_current and report.current_revision == "0014"
    assert report.latency_ms is not None and report.latency_ms >= 0
    assert report.db_type == db_engine.dialect.name
    assert "class" in report.pool


def test_health_down_never_raises_nor_leaks_password() -> None:
    engine = create_engine(
        "postgresql+psycopg://app:topsecret@127.0.0.1:1/nope", connect_args={"connect_timeout": 2}
    )
    report = check_health(engine)
    assert report.status == "down"
    assert report.error
    assert "topsecret" not in str(report.to_dict())
