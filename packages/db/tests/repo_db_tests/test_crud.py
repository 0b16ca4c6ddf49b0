"""CRUD helpers on both dialects, inside the per-test rolled-back connection."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import CheckConstraint, Connection

import repo_db
from repo_db import (
    ConstraintViolation,
    DbService,
    DuplicateError,
    InvalidQueryError,
    InvalidValueError,
    MissingReferenceError,
    UnknownColumnError,
    UnknownTableError,
)
from repo_db.models import QuestionKind, Role, User
from repo_db.models.enums import check_in


def _user(conn: Connection, n: int = 1, **extra: Any) -> dict[str, Any]:
    data = {"email": f"u{n}@example.com", "password_hash": "x", "display_name": f"User {n}"}
    return repo_db.create("users", {**data, **extra}, engine=conn)


def test_create_returns_row_with_defaults(db_connection: Connection) -> None:
    user = _user(db_connection)
    assert isinstance(user["id"], int)
    assert user["role"] == "learner"  # server default
    assert user["is_active"] is True
    assert user["created_at"] is not None


def test_find_helpers(db_connection: Connection) -> None:
    a = _user(db_connection, 1)
    b = _user(db_connection, 2, role="admin")
    assert repo_db.find_by_id("users", a["id"], engine=db_connection) == a
    assert repo_db.find_by_id("users", 10**9, engine=db_connection) is None
    assert repo_db.find_by("users", "email", "u2@example.com", engine=db_connection) == b
    assert repo_db.find_one("users", {"role": "admin"}, engine=db_connection) == b
    both = repo_db.find_many("users", {"id": [a["id"], b["id"]]}, engine=db_connection)
    assert [r["id"] for r in both] == [a["id"], b["id"]]
    assert repo_db.count("users", engine=db_connection) == 2
    assert repo_db.count("users", {"role": "learner"}, engine=db_connection) == 1
    assert repo_db.exists("users", {"email": "u1@example.com"}, engine=db_connection)
    assert not repo_db.exists("users", {"email": "nobody@example.com"}, engine=db_connection)
    tokens = repo_db.find_many("auth_tokens", {"revoked_at": None}, engine=db_connection)
    assert tokens == []


def test_keyset_pagination(db_connection: Connection) -> None:
    ids = [_user(db_connection, n)["id"] for n in range(7)]
    pages: list[list[int]] = []
    after = None
    while True:
        page = repo_db.find_many("users", limit=3, after=after, engine=db_connection)
        if not page:
            break
        pages.append([r["id"] for r in page])
        after = page[-1]["id"]
    assert pages == [ids[0:3], ids[3:6], ids[6:7]]
    desc = repo_db.find_many("users", order_by="-email", limit=2, engine=db_connection)
    assert [r["email"] for r in desc] == ["u6@example.com", "u5@example.com"]
    rest = repo_db.find_many(
        "users", order_by="-email", after="u5@example.com", engine=db_connection
    )
    assert rest[0]["email"] == "u4@example.com"
    offset = repo_db.find_many("users", limit=2, offset=5, engine=db_connection)
    assert [r["id"] for r in offset] == ids[5:7]


def test_update_upsert_delete(db_connection: Connection) -> None:
    user = _user(db_connection)
    updated = repo_db.update("users", user["id"], {"display_name": "New"}, engine=db_connection)
    assert updated is not None and updated["display_name"] == "New"
    assert updated["updated_at"] >= user["updated_at"]
    assert repo_db.update("users", 10**9, {"display_name": "x"}, engine=db_connection) is None
    data = {"email": "u1@example.com", "password_hash": "y", "display_name": "Upserted"}
    up = repo_db.upsert("users", data, conflict=["email"], engine=db_connection)
    assert up["id"] == user["id"] and up["display_name"] == "Upserted"
    fresh = repo_db.upsert(
        "users", {**data, "email": "u9@example.com"}, conflict=["email"], engine=db_connection
    )
    assert fresh["id"] != user["id"]
    assert repo_db.delete("users", user["id"], engine=db_connection) is True
    assert repo_db.delete("users", user["id"], engine=db_connection) is False
    with pytest.raises(InvalidQueryError):
        repo_db.upsert("users", data, conflict=["display_name"], engine=db_connection)


def test_create_many(db_connection: Connection) -> None:
    rows = [
        {"email": f"bulk{n}@example.com", "password_hash": "x", "display_name": "B"}
        for n in range(25)
    ]
    assert repo_db.create_many("users", rows, engine=db_connection) == 25
    assert repo_db.count("users", engine=db_connection) == 25


def test_integrity_errors_name_the_constraint(db_connection: Connection) -> None:
    _user(db_connection)
    with pytest.raises(DuplicateError) as dup:
        _user(db_connection)
    assert dup.value.constraint == "uq_users_email"
    assert "uq_users_email" in str(dup.value)
    with pytest.raises(ConstraintViolation) as check:
        _user(db_connection, 2, role="superuser")
    assert check.value.constraint == "ck_users_role"
    with pytest.raises(MissingReferenceError) as fk:
        repo_db.create("assessments", {"author_id": 10**9, "title": "t"}, engine=db_connection)
    assert fk.value.constraint == "fk_assessments_author_id_users"
    with pytest.raises(ConstraintViolation) as not_null:
        repo_db.create("users", {"email": "z@example.com"}, engine=db_connection)
    assert "NOT NULL" in str(not_null.value)
    # Savepoints: the test's transaction is still usable after the rejected writes.
    assert repo_db.count("users", engine=db_connection) == 1


def test_unknown_names_are_rejected_before_sql(db_connection: Connection) -> None:
    with pytest.raises(UnknownTableError, match="nope"):
        repo_db.find_by_id("nope", 1, engine=db_connection)
    with pytest.raises(UnknownColumnError, match="emial"):
        repo_db.find_by("users", "emial", "a", engine=db_connection)
    with pytest.raises(UnknownColumnError, match="is_admin"):
        _user(db_connection, is_admin=True)
    with pytest.raises(InvalidQueryError):
        repo_db.create("users", {}, engine=db_connection)


def test_bad_values_raise_repo_db_errors(db_connection: Connection) -> None:
    with pytest.raises(InvalidValueError):
        _user(db_connection, is_active="maybe")
    if db_connection.dialect.name == "postgresql":
        with pytest.raises(InvalidValueError):
            repo_db.find_by_id("users", "not-a-number", engine=db_connection)


def test_db_service_facade(db_connection: Connection) -> None:
    user = _user(db_connection)
    assert DbService.find_by_id("users", user["id"], engine=db_connection) == user
    assert DbService.find_by("users", "email", user["email"], engine=db_connection) == user
    changed = DbService.update("users", user["id"], {"role": "author"}, engine=db_connection)
    assert changed is not None and changed["role"] == "author"


def test_find_by_returns_the_first_row_in_primary_key_order(db_connection: Connection) -> None:
    first = _user(db_connection, 1, role="author")
    second = _user(db_connection, 2, role="author")
    # PostgreSQL writes an updated row at the end of the heap: without ORDER BY a scan would
    # now meet ``second`` before ``first``.
    repo_db.update("users", first["id"], {"display_name": "Renamed"}, engine=db_connection)
    found = repo_db.find_by("users", "role", "author", engine=db_connection)
    assert found is not None and found["id"] == first["id"] < second["id"]
    assert found["display_name"] == "Renamed"


def test_find_by_without_a_match_is_none(db_connection: Connection) -> None:
    _user(db_connection, 1)
    assert repo_db.find_by("users", "email", "nobody@example.com", engine=db_connection) is None
    assert repo_db.find_by("users", "role", "admin", engine=db_connection) is None
    assert repo_db.find_by("users", "id", 10**9, engine=db_connection) is None


def test_db_service_create(db_connection: Connection) -> None:
    data = {"email": "svc@example.com", "password_hash": "x", "display_name": "Service"}
    created = DbService.create("users", data, engine=db_connection)
    assert isinstance(created["id"], int) and created["email"] == "svc@example.com"
    assert created["role"] == "learner"  # the server default comes back
    assert DbService.find_by_id("users", created["id"], engine=db_connection) == created
    with pytest.raises(DuplicateError):
        DbService.create("users", data, engine=db_connection)
    assert repo_db.count("users", {"email": "svc@example.com"}, engine=db_connection) == 1


def test_enum_members_are_stored_as_their_value(db_connection: Connection) -> None:
    user = _user(db_connection, 1, role=Role.AUTHOR)
    stored = db_connection.exec_driver_sql(f"SELECT role FROM users WHERE id = {user['id']}")
    assert stored.scalar_one() == "author"
    with pytest.raises(ConstraintViolation):
        _user(db_connection, 2, role="superuser")


def test_check_constraints_come_from_the_enums() -> None:
    role_check = next(
        c for c in User.__table__.constraints if isinstance(c, CheckConstraint)  # type: ignore[attr-defined]
    )
    assert str(role_check.sqltext) == "role IN ('learner', 'author', 'admin')"
    assert check_in("kind", QuestionKind) == (
        "kind IN ('single_choice', 'multiple_choice', 'numeric', 'free_text')"
    )
