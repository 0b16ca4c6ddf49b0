"""Pytest plugin: isolated databases for repo_db and the apps.

Enable with ``pytest_plugins = ["repo_db.testing"]`` in a conftest. Fixtures:

* ``db_engine`` (session scope, params ``sqlite`` / ``postgresql``): a fresh database with the
  migrations applied — a SQLite file in a tmp dir, or a PostgreSQL database
  ``repo_db_test_<uuid>`` created from ``REPO_DB_TEST_POSTGRES_URL`` and dropped at the end.
* ``db_connection``: a connection inside a transaction rolled back after each test; pass it as
  ``engine=`` to the helpers (their writes become SAVEPOINTs inside it).
* ``db_session``: an ORM session joined to ``db_connection`` (rolled back too).
* ``db_default_engine``: makes ``repo_db.db`` / ``get_engine()`` return ``db_engine`` for code
  that uses the default engine (HTTP handlers); rows are deleted after the test.
* ``standby_pair`` (module scope): a private PostgreSQL primary and a real hot standby streaming
  from it with ``recovery_min_apply_delay = '2s'`` (``repo_db.standby_pair``), migrated; stopped
  after the module whatever happens. ``replica_env(pair)`` points the process's settings at it
  (DATABASE_URL = primary, DATABASE_READ_URL = standby); ``settings_env(**variables)`` sets any
  (e.g. DATABASE_URL = ``pair.multi_host_url()`` for a failover).

PostgreSQL unreachable: its tests fail with a message saying how to point them at a server,
because the dialect matrix must never silently shrink. ``REPO_DB_SKIP_POSTGRES=1`` skips them
instead, for a machine that has no PostgreSQL. (No dependence on ``CI``: a developer's and CI's
test runs then share cache keys, so the team's remote cache serves both.)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from repo_db._engine import build_engine, override_default_engine
from repo_db.config import DbSettings, normalize_url, redact
from repo_db.models import metadata
from repo_db.standby_pair import StandbyPair, server_binaries_available

DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DIALECTS = ("sqlite", "postgresql")
TEST_DB_PREFIX = "repo_db_test_"
_TRUTHY = {"1", "true", "yes", "on"}


def postgres_required() -> bool:
    return os.environ.get("REPO_DB_SKIP_POSTGRES", "").lower() not in _TRUTHY


def admin_postgres_url() -> URL:
    raw = os.environ.get("REPO_DB_TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL
    return normalize_url(raw, variable="REPO_DB_TEST_POSTGRES_URL")


def _test_settings() -> DbSettings:
    # Small pools and few retries: many test processes share one server and 2 cores.
    return DbSettings(
        db_pool_size=2,
        db_max_overflow=2,
        db_connect_retries=0,
        db_log_queries=False,
        database_url=None,
        node_env="test",
    )


def unavailable(reason: str) -> None:
    """Fail (default) or skip (REPO_DB_SKIP_POSTGRES=1) a PostgreSQL test."""
    if postgres_required():
        pytest.fail(
            f"PostgreSQL tests need a server but {reason}. Start one, point "
            f"REPO_DB_TEST_POSTGRES_URL at it (default {DEFAULT_TEST_POSTGRES_URL}), or set "
            "REPO_DB_SKIP_POSTGRES=1 to skip them.",
            pytrace=False,
        )
    pytest.skip(f"PostgreSQL not available ({reason}); REPO_DB_SKIP_POSTGRES=1 is set")


class PostgresDatabase:
    """A throwaway database on the test server (created/dropped through the admin URL)."""

    def __init__(self, admin_url: URL) -> None:
        self.admin_url = admin_url
        self.name = f"{TEST_DB_PREFIX}{uuid.uuid4().hex[:16]}"
        self.url = admin_url.set(database=self.name)
        self._admin = create_engine(
            admin_url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 5},
        )

    def create(self) -> None:
        try:
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        except Exception as exc:  # - any failure means "server not usable"
            first = (str(getattr(exc, "orig", exc)).splitlines() or ["error"])[0]
            unavailable(f"cannot create a database via {redact(self.admin_url)}: {first}")

    def drop(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()


def prepare_schema(engine: Engine) -> None:
    """Bring a fresh test database to the head migration."""
    from repo_db.migrate import upgrade

    upgrade(engine)


def truncate_all(engine: Engine) -> None:
    """Delete every row (children first); cheaper than recreating the database per test."""
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@contextmanager
def temporary_database(dialect: str, directory: Path) -> Iterator[Engine]:
    """An engine on a new EMPTY database (SQLite file in ``directory`` or PostgreSQL db)."""
    settings = _test_settings()
    if dialect == "sqlite":
        path = directory / f"{uuid.uuid4().hex[:8]}.sqlite3"
        engine = build_engine(URL.create("sqlite", database=str(path)), settings=settings)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    database = PostgresDatabase(admin_postgres_url())
    database.create()
    engine = build_engine(database.url, settings=settings)
    try:
        yield engine
    finally:
        engine.dispose()
        database.drop()


@pytest.fixture(scope="session", params=DIALECTS, ids=list(DIALECTS))
def db_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """An engine on a private, migrated database, once per dialect per test session."""
    with temporary_database(request.param, tmp_path_factory.mktemp("repo_db")) as engine:
        prepare_schema(engine)
        yield engine


@pytest.fixture()
def db_connection(db_engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back after the test."""
    with db_engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            if outer.is_active:
                outer.rollback()


@pytest.fixture()
def db_session(db_connection: Connection) -> Iterator[Session]:
    """An ORM session inside ``db_connection``: its commits are SAVEPOINT releases."""
    session = Session(
        bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()


#: The standby's replay delay in the ``standby_pair`` fixture (the issue's check uses 2 s).
STANDBY_APPLY_DELAY = "2s"


@pytest.fixture(scope="module")
def standby_pair() -> Iterator[StandbyPair]:
    """A migrated primary and a streaming standby lagging STANDBY_APPLY_DELAY behind it."""
    if not server_binaries_available():
        unavailable("the PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are missing")
    with StandbyPair(apply_delay=STANDBY_APPLY_DELAY) as pair:
        pair.wait_streaming()
        engine = build_engine(pair.primary_url, settings=_test_settings())
        try:
            prepare_schema(engine)
        finally:
            engine.dispose()
        yield pair


@contextmanager
def replica_env(pair: StandbyPair, **extra: str) -> Iterator[None]:
    """Process settings on ``pair``: DATABASE_URL = primary, DATABASE_READ_URL = standby (and
    ``extra`` variables), with fresh engines; the previous environment comes back after."""
    with settings_env(
        DATABASE_URL=pair.primary_url.render_as_string(hide_password=False),
        DATABASE_READ_URL=pair.standby_url.render_as_string(hide_password=False),
        **extra,
    ):
        yield


@contextmanager
def settings_env(**variables: str | None) -> Iterator[None]:
    """Process settings from ``variables`` (None: unset; DB_LOG_QUERIES defaults to false), with
    fresh engines; the previous environment comes back after."""
    from repo_db._engine import dispose_engines
    from repo_db.config import get_settings

    env = {"DB_LOG_QUERIES": "false", **variables}
    saved = {name: os.environ.get(name) for name in env}
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()
    dispose_engines()
    try:
        yield
    finally:
        dispose_engines()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


@pytest.fixture()
def db_default_engine(db_engine: Engine) -> Iterator[Engine]:
    """Route ``repo_db.db`` / ``get_engine()`` to ``db_engine``; wipe rows afterwards."""
    previous = override_default_engine(db_engine)
    try:
        yield db_engine
    finally:
        override_default_engine(previous)
        truncate_all(db_engine)


__all__ = [
    "DEFAULT_TEST_POSTGRES_URL",
    "DIALECTS",
    "PostgresDatabase",
    "admin_postgres_url",
    "db_connection",
    "db_default_engine",
    "db_engine",
    "db_session",
    "postgres_required",
    "prepare_schema",
    "replica_env",
    "settings_env",
    "standby_pair",
    "temporary_database",
    "truncate_all",
    "unavailable",
]
