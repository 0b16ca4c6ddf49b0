"""Alembic environment for repo_db.

The target comes from ``config.attributes`` (``connection``, ``engine`` or ``url``, set by
``repo_db.migrate`` or pytest-alembic), else from the package settings' DIRECT URL. Never from
``alembic.ini``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine

from repo_db._engine import build_engine
from repo_db.config import get_settings
from repo_db.models import metadata

config = context.config

# A migration waits at most this long for a lock (then fails, and the deploy can retry) instead
# of queueing every request behind it; a statement runs at most this long. PostgreSQL only;
# SET LOCAL ends with the migration's transaction. tools/squawk checks that they are set.
POSTGRES_TIMEOUTS = ("SET LOCAL lock_timeout = '5s'", "SET LOCAL statement_timeout = '10min'")


def _set_timeouts(dialect_name: str) -> None:
    if dialect_name == "postgresql":
        for statement in POSTGRES_TIMEOUTS:
            context.execute(statement)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
    )


def run_offline() -> None:
    url = config.attributes.get("url") or get_settings().direct_url
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=url.get_backend_name() == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        _set_timeouts(url.get_backend_name())
        context.run_migrations()


def run_online() -> None:
    # pytest-alembic passes an Engine under "connection"; repo_db.migrate passes a Connection.
    connectable = config.attributes.get("connection")
    if isinstance(connectable, Connection):
        _configure(connectable)
        with context.begin_transaction():
            _set_timeouts(connectable.dialect.name)
            context.run_migrations()
        return
    engine: Engine | None = connectable or config.attributes.get("engine")
    throwaway = engine is None
    if engine is None:
        engine = build_engine(
            config.attributes.get("url") or get_settings().direct_url, throwaway=True
        )
    try:
        with engine.connect() as conn:  # Alembic begins (and commits) the transaction
            _configure(conn)
            with context.begin_transaction():
                _set_timeouts(conn.dialect.name)
                context.run_migrations()
    finally:
        if throwaway:
            engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
