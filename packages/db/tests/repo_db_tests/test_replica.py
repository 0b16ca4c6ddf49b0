"""Read-replica routing: ``unit_of_work(read_only=True)`` reads from ``DATABASE_READ_URL``.

A second PostgreSQL database with the same schema stands in for the replica. Rows that exist
only there (or only on the primary) show where each unit ran. The rule:

* a read-only unit of its own (not nested) runs on the replica when ``DATABASE_READ_URL`` is set;
* writing units, units nested in another unit, and helpers called outside any unit run on the
  primary (``DATABASE_URL``); so does everything when no read URL is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

import repo_db
from repo_db import migrate, unit_of_work
from repo_db._engine import build_engine, dispose_engines, get_read_engine
from repo_db.config import DbSettings, get_settings
from repo_db.models import User
from repo_db.testing import PostgresDatabase, admin_postgres_url

SETTINGS = DbSettings(db_log_queries=False, db_connect_retries=0, node_env="test")


def _emails(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(User.email)).scalars())


def _user(email: str) -> User:
    return User(email=email, password_hash="x", display_name="R")


@pytest.fixture(scope="module")
def databases() -> Iterator[dict[str, Any]]:
    primary, replica = PostgresDatabase(admin_postgres_url()), PostgresDatabase(
        admin_postgres_url()
    )
    primary.create()
    replica.create()
    engines = {
        "primary": build_engine(primary.url, settings=SETTINGS),
        "replica": build_engine(replica.url, settings=SETTINGS),
    }
    for engine in engines.values():
        migrate.upgrade(engine)
    with engines["primary"].begin() as conn:
        conn.execute(
            insert(User),
            [{"email": "primary-only@r.example", "password_hash": "x", "display_name": "P"}],
        )
    with engines["replica"].begin() as conn:
        conn.execute(
            insert(User),
            [{"email": "replica-only@r.example", "password_hash": "x", "display_name": "R"}],
        )
    try:
        yield {"primary": primary, "replica": replica, **engines}
    finally:
        for engine in engines.values():
            engine.dispose()
        primary.drop()
        replica.drop()


@pytest.fixture()
def routed(databases: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Process settings: DATABASE_URL = primary, DATABASE_READ_URL = replica."""
    env = {
        "DATABASE_URL": databases["primary"].url.render_as_string(hide_password=False),
        "DATABASE_READ_URL": databases["replica"].url.render_as_string(hide_password=False),
        "DB_LOG_QUERIES": "false",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    get_settings.cache_clear()
    dispose_engines()
    try:
        yield databases
    finally:
        dispose_engines()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def _seen(session: Any) -> set[str]:
    return set(session.execute(select(User.email)).scalars())


def test_read_only_unit_reads_from_the_replica(routed: dict[str, Any]) -> None:
    with unit_of_work(read_only=True) as session:
        seen = _seen(session)
        # helpers inside the unit join its (replica) connection
        helper_row = repo_db.find_by("users", "email", "replica-only@r.example")
    assert "replica-only@r.example" in seen
    assert "primary-only@r.example" not in seen
    assert helper_row is not None


def test_writes_go_to_the_primary_never_the_replica(routed: dict[str, Any]) -> None:
    with unit_of_work() as session:
        assert "primary-only@r.example" in _seen(session)  # a writing unit reads the primary
        session.add(_user("written@r.example"))
    repo_db.create(
        "users", {"email": "helper@r.example", "password_hash": "x", "display_name": "H"}
    )
    assert {"written@r.example", "helper@r.example"} <= _emails(routed["primary"])
    assert not {"written@r.example", "helper@r.example"} & _emails(routed["replica"])
    # helpers outside a unit read the primary (read-your-writes)
    assert repo_db.find_by("users", "email", "helper@r.example") is not None
    assert repo_db.find_by("users", "email", "replica-only@r.example") is None


def test_read_only_unit_nested_in_a_writing_unit_stays_on_the_primary(
    routed: dict[str, Any],
) -> None:
    with unit_of_work() as outer:
        outer.add(_user("uncommitted@r.example"))
        outer.flush()
        with unit_of_work(read_only=True) as inner:
            seen = _seen(inner)
        outer.rollback()
    assert "uncommitted@r.example" in seen  # the primary's own transaction, not the replica
    assert "replica-only@r.example" not in seen


def test_without_a_read_url_read_only_units_use_the_primary(
    databases: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", databases["primary"].url.render_as_string(False))
    monkeypatch.delenv("DATABASE_READ_URL", raising=False)
    get_settings.cache_clear()
    dispose_engines()
    try:
        assert get_settings().read_url is None
        assert get_read_engine() is repo_db.get_engine()
        with unit_of_work(read_only=True) as session:
            assert "primary-only@r.example" in _seen(session)
    finally:
        dispose_engines()
        get_settings.cache_clear()
