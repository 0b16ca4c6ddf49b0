"""unit_of_work(), savepoint() and the default engine, on both dialects."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session

import repo_db
from repo_db import (
    DatabaseUnavailableError,
    DuplicateError,
    InvalidQueryError,
    savepoint,
    unit_of_work,
)
from repo_db._context import current_connection
from repo_db._engine import build_engine
from repo_db.config import DbSettings
from repo_db.models import User

ROW = {"password_hash": "x", "display_name": "T"}


def test_helpers_join_the_unit_of_work(db_connection: Connection) -> None:
    with unit_of_work(bind=db_connection) as session:
        assert current_connection() is session.connection()
        repo_db.create("users", {"email": "a@example.com", **ROW})
        # No engine= argument: the helper found the unit's transaction through the contextvar.
        assert repo_db.count("users") == 1
        assert session.scalars(select(User.email)).all() == ["a@example.com"]
    assert current_connection() is None
    assert repo_db.count("users", engine=db_connection) == 1


def test_failed_unit_rolls_back_orm_and_helper_writes(db_connection: Connection) -> None:
    with pytest.raises(RuntimeError), unit_of_work(bind=db_connection) as session:
        repo_db.create("users", {"email": "core@example.com", **ROW})
        session.add(User(email="orm@example.com", **ROW))
        session.flush()
        raise RuntimeError("abort both")
    assert repo_db.count("users", engine=db_connection) == 0


def test_orm_constraint_violation_is_a_repo_db_error(db_connection: Connection) -> None:
    repo_db.create("users", {"email": "a@example.com", **ROW}, engine=db_connection)
    with pytest.raises(DuplicateError) as caught, unit_of_work(bind=db_connection) as session:
        session.add(User(email="a@example.com", **ROW))
    assert caught.value.table == "users"


def test_savepoint_keeps_the_unit_usable(db_connection: Connection) -> None:
    with unit_of_work(bind=db_connection) as session:
        session.add(User(email="a@example.com", **ROW))
        session.flush()
        with pytest.raises(DuplicateError), savepoint(session):
            session.add(User(email="a@example.com", **ROW))
        session.add(User(email="b@example.com", **ROW))
    emails = db_connection.execute(select(User.email).order_by(User.email)).scalars().all()
    assert emails == ["a@example.com", "b@example.com"]


def test_caller_value_errors_are_not_translated(db_connection: Connection) -> None:
    with pytest.raises(ValueError, match="caller's own"), unit_of_work(bind=db_connection):
        raise ValueError("the caller's own error")


def test_db_session_fixture_commits_inside_the_test_transaction(db_connection: Connection) -> None:
    with unit_of_work(bind=db_connection) as session:
        session.add(User(email="s@example.com", **ROW))
    with unit_of_work(bind=db_connection, read_only=True) as session:
        assert session.scalars(select(User.email)).one() == "s@example.com"


def test_default_engine_and_real_commits(db_default_engine: Engine) -> None:
    assert repo_db.get_engine() is db_default_engine
    with unit_of_work():
        repo_db.create("users", {"email": "committed@example.com", **ROW})
    # A fresh connection sees the committed row.
    with db_default_engine.connect() as other:
        assert repo_db.count("users", engine=other) == 1
    with unit_of_work(read_only=True) as session:
        assert session.scalars(select(User.email)).all() == ["committed@example.com"]


def test_exhausted_pool_is_unavailable(db_engine: Engine) -> None:
    """QueuePool's own TimeoutError leaves as DatabaseUnavailableError (an API answers 503)."""
    if db_engine.dialect.name == "sqlite":
        pytest.skip("pool sizes apply to PostgreSQL only (SQLite: SQLAlchemy's default pool)")
    tiny = build_engine(
        db_engine.url, settings=DbSettings(db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.2)
    )
    errors: list[BaseException] = []

    def second_unit() -> None:  # another thread: it cannot join the first unit's connection
        try:
            with unit_of_work(bind=tiny, read_only=True):
                pass
        except BaseException as exc:
            errors.append(exc)

    try:
        with unit_of_work(bind=tiny, read_only=True):
            thread = threading.Thread(target=second_unit)
            thread.start()
            thread.join()
    finally:
        tiny.dispose()
    assert len(errors) == 1
    assert isinstance(errors[0], DatabaseUnavailableError)
    assert "pool" in str(errors[0])


def test_read_only_unit_refuses_orm_writes(db_default_engine: Engine) -> None:
    with pytest.raises(InvalidQueryError, match="read-only"), unit_of_work(read_only=True) as s:
        s.add(User(email="sneaky@example.com", **ROW))
    with unit_of_work(read_only=True) as session:
        assert session.scalars(select(User.email)).all() == []


def _one_snapshot_per_statement(session: Session) -> bool:
    """True when the statements run outside a transaction block (each is its own transaction)."""
    session.execute(text("SELECT pg_sleep(0.02)"))
    return bool(session.scalar(text("SELECT transaction_timestamp() = statement_timestamp()")))


def test_read_only_unit_on_postgresql_needs_no_begin_or_commit(db_default_engine: Engine) -> None:
    if db_default_engine.dialect.name != "postgresql":
        pytest.skip("autocommit reads are a PostgreSQL policy (SQLite reads keep their BEGIN)")
    with unit_of_work(read_only=True) as session:
        assert _one_snapshot_per_statement(session)
    # Control: a writing unit is one transaction, so its second statement's time differs.
    with unit_of_work() as session:
        assert not _one_snapshot_per_statement(session)
    # The pooled connection goes back to transactions for the next writing unit.
    with unit_of_work() as session:
        assert not _one_snapshot_per_statement(session)


def test_read_only_unit_refuses_nested_writes_and_allows_nested_reads(
    db_default_engine: Engine,
) -> None:
    with unit_of_work(read_only=True):
        with unit_of_work(read_only=True) as inner:
            assert inner.scalars(select(User.email)).all() == []
        with pytest.raises(InvalidQueryError, match="read-only"):
            repo_db.create("users", {"email": "helper@example.com", **ROW})
        with pytest.raises(InvalidQueryError, match="read-only"), unit_of_work() as nested:
            nested.add(User(email="nested@example.com", **ROW))
    assert repo_db.count("users", engine=db_default_engine) == 0
