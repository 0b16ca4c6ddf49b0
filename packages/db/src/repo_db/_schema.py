"""Create / drop every table straight from the models (tests, prototypes; prod uses migrations)."""

from __future__ import annotations

from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine

from repo_db._engine import get_engine
from repo_db._errors import MigrationStateError
from repo_db.migrate import alembic_config, head_revision, migration_connection
from repo_db.models import metadata


def create_tables(engine: Engine | Connection | None = None) -> None:
    """Create the tables from the models and record the migration head, in one transaction.

    Afterwards ``repo-db migrate status``, ``repo-db migrate up`` and ``check_health`` agree that
    the database is up to date. Idempotent. A database that migrations brought to an older
    revision is refused (:class:`MigrationStateError`): ``repo-db migrate up`` upgrades it.
    """
    head = head_revision()
    with migration_connection(engine or get_engine()) as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        if current not in (None, head):
            raise MigrationStateError(
                f"the database is at migration {current}, not {head}: "
                "run `repo-db migrate up` instead of creating tables"
            )
        metadata.create_all(conn, checkfirst=True)
        if current is None:
            command.stamp(alembic_config(conn), "head")


def drop_tables(engine: Engine | Connection | None = None) -> None:
    """Drop every repo_db table that exists (idempotent). Also drops Alembic's version table."""
    with migration_connection(engine or get_engine()) as conn:
        metadata.drop_all(conn, checkfirst=True)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


__all__ = ["create_tables", "drop_tables"]
