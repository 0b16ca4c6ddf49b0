"""Create / drop every table straight from the models (tests, prototypes; prod uses migrations)."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from repo_db._engine import get_engine
from repo_db.models import metadata


def create_tables(engine: Engine | Connection | None = None) -> None:
    """Create missing tables and indexes; existing ones are left alone (idempotent)."""
    metadata.create_all(engine or get_engine(), checkfirst=True)


def drop_tables(engine: Engine | Connection | None = None) -> None:
    """Drop every repo_db table that exists (idempotent). Also drops Alembic's version table."""
    bind = engine or get_engine()
    metadata.drop_all(bind, checkfirst=True)
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    else:
        bind.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


__all__ = ["create_tables", "drop_tables"]
