"""repo_db: the shared database layer (SQLAlchemy 2, PostgreSQL/Neon in production, SQLite in dev).

``db``, ``db_type`` and ``settings`` are resolved lazily on first access, so importing repo_db
never reads the environment or opens a connection.

The knex one-liner ``db('users').where('email', email).first()`` is
``find_by("users", "email", email)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from repo_db import jobs  # the work queue: enqueue, claim under a lease, complete, fail
from repo_db._context import current_connection, savepoint, unit_of_work
from repo_db._crud import (
    count,
    create,
    create_many,
    delete,
    exists,
    find_by,
    find_by_id,
    find_many,
    find_one,
    update,
    upsert,
)
from repo_db._engine import dispose_engines, get_engine
from repo_db._service import DbService
from repo_db.config import DbSettings, get_settings
from repo_db.errors import (
    ConfigError,
    ConstraintViolation,
    DatabaseUnavailableError,
    DuplicateError,
    IntegrityViolation,
    InvalidQueryError,
    InvalidValueError,
    MissingReferenceError,
    NotFoundError,
    QueryError,
    RepoDbError,
    UnknownColumnError,
    UnknownTableError,
)
from repo_db.health import HealthReport, check_health
from repo_db.schema import create_tables, drop_tables
from repo_db.security import hash_password, verify_password
from repo_db.seed import seed_demo
from repo_db.types import DbRecord, WhereCondition

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from repo_db.config import DbType

    db: Engine
    db_type: DbType
    settings: DbSettings


def __getattr__(name: str) -> Any:
    # PEP 562: computed on each access (get_engine/get_settings cache), never at import time.
    if name == "db":
        return get_engine()
    if name == "db_type":
        return get_settings().db_type
    if name == "settings":
        return get_settings()
    raise AttributeError(f"module 'repo_db' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "ConstraintViolation",
    "DatabaseUnavailableError",
    "DbRecord",
    "DbService",
    "DbSettings",
    "DuplicateError",
    "HealthReport",
    "IntegrityViolation",
    "InvalidQueryError",
    "InvalidValueError",
    "MissingReferenceError",
    "NotFoundError",
    "QueryError",
    "RepoDbError",
    "UnknownColumnError",
    "UnknownTableError",
    "WhereCondition",
    "check_health",
    "count",
    "create",
    "create_many",
    "create_tables",
    "current_connection",
    "db",
    "db_type",
    "delete",
    "dispose_engines",
    "drop_tables",
    "exists",
    "find_by",
    "find_by_id",
    "find_many",
    "find_one",
    "get_engine",
    "get_settings",
    "jobs",
    "hash_password",
    "seed_demo",
    "savepoint",
    "settings",
    "unit_of_work",
    "update",
    "upsert",
    "verify_password",
]
