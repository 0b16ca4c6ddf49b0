"""transaction(), session_scope() and the default engine, on both dialects."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

import repo_db
from repo_db import DuplicateError, session_scope, transaction
from repo_db.models import User

ROW = {"password_hash": "x", "display_name": "T"}


def test_helpers_join_the_transaction(db_connection: Connection) -> None:
    with transaction(db_connection) as conn:
        assert repo_db.current_connection() is conn
        repo_db.create("users", {"email": "a@example.com", **ROW})
        # No engine= argument: the helper found the transaction through the contextvar.
        assert repo_db.count("users") == 1
    assert repo_db.current_connection() is None
    assert repo_db.count("users", engine=db_connection) == 1


def test_failed_write_rolls_back_everything(db_connection: Connection) -> None:
    with pytest.raises(DuplicateError), transaction(db_connection):
        repo_db.create("users", {"email": "a@example.com", **ROW})
        repo_db.create("users", {"email": "a@example.com", **ROW})
    assert repo_db.count("users", engine=db_connection) == 0


def test_caught_error_keeps_transaction_usable(db_connection: Connection) -> None:
    with transaction(db_connection):
        repo_db.create("users", {"email": "a@example.com", **ROW})
        with pytest.raises(DuplicateError):
            repo_db.create("users", {"email": "a@example.com", **ROW})
        repo_db.create("users", {"email": "b@example.com", **ROW})
    assert repo_db.count("users", engine=db_connection) == 2


def test_session_scope_commits_and_rolls_back(db_connection: Connection) -> None:
    with session_scope(db_connection) as session:
        session.add(User(email="orm@example.com", **ROW))
    with pytest.raises(RuntimeError), session_scope(db_connection) as session:
        session.add(User(email="gone@example.com", **ROW))
        session.flush()
        raise RuntimeError("boom")
    emails = db_connection.execute(select(User.email)).scalars().all()
    assert emails == ["orm@example.com"]


def test_session_joins_core_transaction(db_connection: Connection) -> None:
    with pytest.raises(RuntimeError), transaction(db_connection):
        repo_db.create("users", {"email": "core@example.com", **ROW})
        with session_scope() as session:
            session.add(User(email="orm@example.com", **ROW))
        raise RuntimeError("abort both")
    assert repo_db.count("users", engine=db_connection) == 0


def test_db_session_fixture(db_session: Session) -> None:
    session = db_session
    session.add(User(email="s@example.com", **ROW))
    session.commit()
    assert session.scalars(select(User.email)).one() == "s@example.com"


def test_default_engine_and_real_commits(db_default_engine: Engine) -> None:
    assert repo_db.get_engine() is db_default_engine
    with transaction():
        repo_db.create("users", {"email": "committed@example.com", **ROW})
    # A fresh connection sees the committed row.
    with db_default_engine.connect() as other:
        assert repo_db.count("users", engine=other) == 1
    with session_scope() as session:
        assert session.scalars(select(User.email)).all() == ["committed@example.com"]
